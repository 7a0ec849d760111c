import { access } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { execa } from "execa";
import { VmLaunchError } from "../../src/core/errors.js";
import { launchVm, type RunningVm } from "../../src/machine/qemu/qemu-vm.js";
import { liveVmCount } from "../../src/machine/qemu/vm-registry.js";
import { eventually, isAlive, qemuPidsWithMarker } from "../helpers/processes.js";
import { QEMU_BUILD_TIMEOUT_MS, QEMU_VARIANTS } from "../helpers/qemu-variants.js";

const fakeQemu = fileURLToPath(new URL("../fixtures/fake-qemu.mjs", import.meta.url));
const childScript = fileURLToPath(new URL("../fixtures/launch-and-wait.ts", import.meta.url));

const pausedConfig = (marker: string) => ({
  machine: "q35",
  accelerator: "tcg" as const,
  cpu: "max",
  memoryMiB: 64,
  vcpus: 1,
  drives: [],
  paused: true,
  extraArgs: ["-name", marker],
});

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

for (const variant of QEMU_VARIANTS) {
  describe(`launchVm and RunningVm (${variant.label}) @integration`, function () {
    this.timeout(60_000);
    let qemuPath: string;
    before(async function () {
      this.timeout(QEMU_BUILD_TIMEOUT_MS);
      qemuPath = await variant.path();
    });

    it("starts QEMU, talks QMP, and stops it with quit; stopping twice is harmless", async () => {
      const marker = `bb-${randomUUID()}`;
      const vm = await launchVm({ qemuPath, config: pausedConfig(marker) });
      expect(await qemuPidsWithMarker(marker)).to.deep.equal([vm.pid]);
      expect(await vm.qmp.execute("query-status")).to.have.property("status", "prelaunch");
      expect(liveVmCount()).to.equal(1);
      const first = await vm.stop();
      expect(first.method).to.equal("quit");
      expect(first.exitCode).to.equal(0);
      expect(await vm.stop()).to.equal(first);
      expect(isAlive(vm.pid)).to.equal(false);
      expect(await exists(vm.runDir)).to.equal(false);
      expect(liveVmCount()).to.equal(0);
    });

    it("keeps the run directory private (0700) while running", async () => {
      await using vm = await launchVm({
        qemuPath,
        config: pausedConfig(`bb-${randomUUID()}`),
      });
      const { stdout } = await execa("stat", ["-c", "%a", vm.runDir]);
      expect(stdout).to.equal("700");
    });

    it("is released by `await using` at the end of the block", async () => {
      const marker = `bb-${randomUUID()}`;
      let pid: number;
      {
        await using vm = await launchVm({
          qemuPath,
          config: pausedConfig(marker),
        });
        pid = vm.pid;
        expect(isAlive(pid)).to.equal(true);
      }
      expect(isAlive(pid)).to.equal(false);
      expect(await qemuPidsWithMarker(marker)).to.deep.equal([]);
    });

    it("fails a launch with QEMU's stderr in the error and leaves nothing running", async () => {
      const marker = `bb-${randomUUID()}`;
      const error = await launchVm({
        qemuPath,
        config: {
          ...pausedConfig(marker),
          extraArgs: ["-name", marker, "-device", "no-such-device"],
        },
      }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(VmLaunchError);
      const launchError = error as VmLaunchError;
      expect(launchError.message).to.match(
        /^QEMU exited during startup \(exit code 1\): qemu-system-x86_64: -device no-such-device: 'no-such-device' is not a valid device model name$/,
      );
      expect(launchError.stderrTail).to.contain(
        "'no-such-device' is not a valid device model name",
      );
      expect(launchError.command).to.include("no-such-device");
      expect(await qemuPidsWithMarker(marker)).to.deep.equal([]);
    });

    it("reports an already-exited QEMU without signalling anything", async () => {
      const vm = await launchVm({
        qemuPath,
        config: pausedConfig(`bb-${randomUUID()}`),
      });
      process.kill(vm.pid, "SIGKILL");
      await vm.exited;
      const result = await vm.stop();
      expect(result).to.deep.equal({
        exitCode: undefined,
        signal: "SIGKILL",
        method: "already-exited",
      });
    });
  });
}

describe("launchVm's stop escalation, with a QEMU that ignores quit @integration", function () {
  this.timeout(60_000);

  it("escalates to SIGTERM when QEMU ignores quit", async () => {
    const vm = await launchVm({ qemuPath: fakeQemu, config: pausedConfig("fake") });
    const result = await vm.stop({ quitTimeoutMs: 300 });
    expect(result.method).to.equal("sigterm");
    expect(result.signal).to.equal("SIGTERM");
    expect(isAlive(vm.pid)).to.equal(false);
  });

  it("escalates to SIGKILL when QEMU also ignores SIGTERM", async () => {
    process.env["FAKE_QEMU_MODE"] = "stubborn";
    let vm: RunningVm;
    try {
      vm = await launchVm({ qemuPath: fakeQemu, config: pausedConfig("fake") });
    } finally {
      delete process.env["FAKE_QEMU_MODE"];
    }
    const result = await vm.stop({ quitTimeoutMs: 200, termTimeoutMs: 300 });
    expect(result.method).to.equal("sigkill");
    expect(result.signal).to.equal("SIGKILL");
    expect(isAlive(vm.pid)).to.equal(false);
  });
});

describe("no QEMU outlives the tool @integration", function () {
  this.timeout(60_000);

  async function startChild(marker: string, mode?: string) {
    const child = execa(
      "node",
      ["--import", "tsx", childScript, marker, ...(mode === undefined ? [] : [mode])],
      {
        reject: false,
        buffer: false,
        stderr: "pipe",
      },
    );
    const qemuPid = await new Promise<number>((resolve, reject) => {
      child.stdout?.on("data", (chunk: Buffer) => {
        const match = /ready (\d+)/.exec(chunk.toString());
        if (match?.[1] !== undefined) resolve(Number(match[1]));
      });
      void child.then((r) =>
        reject(new Error(`child exited early: ${String(r.stderr ?? r.exitCode)}`)),
      );
    });
    return { child, qemuPid };
  }

  for (const signal of ["SIGINT", "SIGTERM", "SIGKILL"] as const) {
    it(`leaves no QEMU when the tool gets ${signal}`, async () => {
      const marker = `bb-${randomUUID()}`;
      const { child, qemuPid } = await startChild(marker);
      expect(isAlive(qemuPid)).to.equal(true);
      child.kill(signal);
      const result = await child;
      if (signal !== "SIGKILL") expect(result.exitCode).to.equal(signal === "SIGINT" ? 130 : 143);
      expect(await eventually(() => !isAlive(qemuPid), 15_000)).to.equal(true);
      expect(await qemuPidsWithMarker(marker)).to.deep.equal([]);
    });
  }

  it("leaves no QEMU when the tool dies of an uncaught error", async () => {
    const marker = `bb-${randomUUID()}`;
    const { child, qemuPid } = await startChild(marker, "crash");
    const result = await child;
    expect(result.exitCode).to.equal(1);
    expect(await eventually(() => !isAlive(qemuPid), 15_000)).to.equal(true);
    expect(await qemuPidsWithMarker(marker)).to.deep.equal([]);
  });
});
