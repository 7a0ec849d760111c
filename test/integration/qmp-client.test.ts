import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { setTimeout as sleep } from "node:timers/promises";
import { execa, type ResultPromise } from "execa";
import { QmpClient } from "../../src/machine/qmp/qmp-client.js";
import {
  QmpCommandError,
  QmpConnectError,
  QmpDisconnectedError,
  QmpProtocolError,
  QmpTimeoutError,
} from "../../src/machine/qmp/qmp-errors.js";
import { startBareQemu } from "../helpers/processes.js";
import { QEMU_BUILD_TIMEOUT_MS, QEMU_VARIANTS } from "../helpers/qemu-variants.js";

const fakePeer = fileURLToPath(new URL("../fixtures/fake-qmp-peer.mjs", import.meta.url));

for (const variant of QEMU_VARIANTS) {
  describe(`QmpClient against real QEMU (${variant.label}) @integration`, function () {
    this.timeout(30_000);
    let qemuPath: string;
    let dir: string;
    let qemu: ResultPromise;
    let client: QmpClient;

    before(async function () {
      this.timeout(QEMU_BUILD_TIMEOUT_MS);
      qemuPath = await variant.path();
    });

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "bb-qmp-"));
      qemu = startBareQemu(join(dir, "qmp.sock"), [], qemuPath);
      client = await QmpClient.connect(join(dir, "qmp.sock"), { timeoutMs: 10_000 });
    });

    afterEach(async () => {
      client.close();
      qemu.kill("SIGKILL");
      await qemu;
      await rm(dir, { recursive: true, force: true });
    });

    it("reads and validates the greeting (QEMU version and capabilities)", async () => {
      const version = await execa(qemuPath, ["--version"]);
      expect(version.stdout).to.match(variant.version);
      const { major, minor, micro } = client.greeting.version;
      expect(version.stdout).to.contain(`version ${major}.${minor}.${micro}`);
      expect(client.greeting.capabilities).to.include("oob");
    });

    it("executes a command and returns its value", async () => {
      // QEMU 7.2 adds "singlestep": false; 10.0 no longer has it (deprecated in 8.1).
      expect(await client.execute("query-status")).to.deep.include({
        status: "prelaunch",
        running: false,
      });
    });

    it("turns an unknown command into a QmpCommandError with class, description and command", async () => {
      const error = await client.execute("no-such-command", { a: 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(QmpCommandError);
      const commandError = error as QmpCommandError;
      expect(commandError.errorClass).to.equal("CommandNotFound");
      expect(commandError.description).to.equal("The command no-such-command has not been found");
      expect(commandError.command).to.equal("no-such-command");
      expect(commandError.args).to.deep.equal({ a: 1 });
    });

    it("routes replies of concurrent commands by id", async () => {
      const [status, balloon, name, version] = await Promise.all([
        client.execute("query-status"),
        client.execute("query-balloon").catch((e: QmpCommandError) => e.errorClass),
        client.execute("query-name"),
        client.execute<{ qemu: { major: number } }>("query-version"),
      ]);
      expect(status).to.have.property("status", "prelaunch");
      expect(balloon).to.equal("DeviceNotActive");
      expect(name).to.deep.equal({});
      expect(version.qemu.major).to.equal(client.greeting.version.major);
    });

    it("delivers STOP and RESUME events from cont/stop, without missing one that beat the reply", async () => {
      await client.execute("cont");
      const resume = await client.waitForEvent("RESUME", undefined, { timeoutMs: 5_000 });
      expect(resume.event).to.equal("RESUME");
      expect(resume.timestampUs).to.be.greaterThan(0);
      const seen: string[] = [];
      const unsubscribe = client.onEvent((e) => seen.push(e.event));
      await client.execute("stop");
      // The STOP event arrives before the reply; waiting after the command must still see it.
      const stop = await client.waitForEvent("STOP", undefined, { timeoutMs: 5_000 });
      expect(stop.event).to.equal("STOP");
      unsubscribe();
      expect(seen).to.deep.equal(["STOP"]);
    });

    it("times out a wait for an event that never comes", async () => {
      const since = client.cursor();
      const error = await client
        .waitForEvent("BALLOON_CHANGE", undefined, { timeoutMs: 200, since })
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(QmpTimeoutError);
    });

    it("rejects a pending command promptly when QEMU is killed", async () => {
      // Freeze QEMU first so the command is certainly still pending when it dies.
      qemu.kill("SIGSTOP");
      const pending = client.execute("query-status", undefined, { timeoutMs: 20_000 });
      const waiting = client.waitForEvent("NEVER", undefined, {
        timeoutMs: 20_000,
        since: client.cursor(),
      });
      await sleep(100);
      const started = Date.now();
      qemu.kill("SIGKILL");
      const [command, wait] = await Promise.allSettled([pending, waiting]);
      expect(Date.now() - started).to.be.lessThan(2_000);
      expect(command.status).to.equal("rejected");
      const reason = (command as PromiseRejectedResult).reason as Error;
      expect(reason).to.be.instanceOf(QmpDisconnectedError);
      expect(reason.message).to.contain("while waiting for query-status");
      expect((wait as PromiseRejectedResult).reason).to.be.instanceOf(QmpDisconnectedError);
      expect(await client.execute("query-status").catch((e: unknown) => e)).to.be.instanceOf(
        QmpDisconnectedError,
      );
      expect(client.isOpen).to.equal(false);
    });

    it("treats the connection closing after quit as success", async () => {
      await client.execute("quit");
      await client.closed;
      expect(client.isOpen).to.equal(false);
    });
  });
}

describe("QmpClient against a faulty peer @integration", function () {
  this.timeout(20_000);
  let dir: string;
  let peer: ResultPromise | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-qmp-fake-"));
  });

  afterEach(async () => {
    peer?.kill("SIGKILL");
    await peer;
    peer = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function startPeer(mode: string): Promise<string> {
    const socketPath = join(dir, "qmp.sock");
    peer = execa("node", [fakePeer, socketPath, mode], { reject: false, buffer: false });
    await new Promise<void>((resolve) => peer?.stdout?.once("data", () => resolve()));
    return socketPath;
  }

  it("times out a command the peer never answers, and keeps the connection usable", async () => {
    const client = await QmpClient.connect(await startPeer("hang"));
    const started = Date.now();
    const error = await client
      .execute("query-status", undefined, { timeoutMs: 300 })
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(QmpTimeoutError);
    expect((error as Error).message).to.equal("QMP command 'query-status' got no reply in 300 ms");
    expect(Date.now() - started).to.be.within(250, 3_000);
    expect(client.isOpen).to.equal(true);
    client.close();
  });

  it("treats an oversized line as a protocol error, not an unbounded buffer", async () => {
    const client = await QmpClient.connect(await startPeer("flood"), { maxLineBytes: 1024 * 1024 });
    const error = await client.execute("query-status").catch((e: unknown) => e);
    expect(error).to.be.instanceOf(QmpProtocolError);
    expect((error as Error).message).to.contain("line longer than 1048576 bytes");
    expect(client.isOpen).to.equal(false);
  });

  it("treats malformed JSON as a protocol error", async () => {
    const client = await QmpClient.connect(await startPeer("garbage"));
    const error = await client.execute("query-status").catch((e: unknown) => e);
    expect(error).to.be.instanceOf(QmpProtocolError);
    expect((error as Error).message).to.contain("malformed JSON");
  });

  it("rejects a greeting without a version", async () => {
    const error = await QmpClient.connect(await startPeer("bad-greeting")).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(QmpProtocolError);
    expect((error as Error).message).to.equal("QMP greeting requires a 'version.qemu' member");
  });

  it("gives up connecting to a socket that never appears", async () => {
    const error = await QmpClient.connect(join(dir, "absent.sock"), { timeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(QmpConnectError);
    expect((error as Error).message).to.contain("within 300 ms");
  });
});
