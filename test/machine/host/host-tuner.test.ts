import { cp, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { doctorCommand, type DoctorHost } from "../../../src/cli/commands/doctor.js";
import { UsageError } from "../../../src/core/errors.js";
import { hostTree } from "../../helpers/host-trees.js";

function captureIo() {
  const out: string[] = [];
  return {
    io: {
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => out.push(t),
      setExitCode: () => undefined,
    },
    text: () => out.join(""),
  };
}

const read = (root: string, path: string) =>
  readFile(join(root, path), "utf8").then((t) => t.trim());

describe("doctor --tune / --apply / --reset on a writable fake root", () => {
  let dir: string;
  let host: DoctorHost;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-tune-"));
    const root = join(dir, "root");
    await cp(hostTree("ksm-powersave"), root, { recursive: true });
    host = { root, isRoot: true, statePath: join(dir, "state", "balloon-bench", "tuned.json") };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("--tune shows what it would set and changes nothing", async () => {
    const { io, text } = captureIo();
    await doctorCommand({ tune: true, thp: "never" }, io, host);
    expect(text()).to.contain("would set  ksm: 1 -> 0  (/sys/kernel/mm/ksm/run)");
    expect(text()).to.contain("would set  thp.enabled: always -> never");
    expect(await read(host.root, "sys/kernel/mm/ksm/run")).to.equal("1");
    expect(await stat(host.statePath).catch(() => undefined)).to.equal(undefined);
  });

  it("--apply sets them and saves the previous values; --reset restores them and removes the state", async () => {
    const { io, text } = captureIo();
    await doctorCommand({ tune: true, apply: true, thp: "never" }, io, host);
    expect(text()).to.contain(
      "set  boost: 0 -> 1  (/sys/devices/system/cpu/intel_pstate/no_turbo)",
    );
    expect(await read(host.root, "sys/kernel/mm/ksm/run")).to.equal("0");
    expect(await read(host.root, "sys/devices/system/cpu/intel_pstate/no_turbo")).to.equal("1");
    expect(await read(host.root, "sys/devices/system/cpu/cpu3/cpufreq/scaling_governor")).to.equal(
      "performance",
    );
    expect(await read(host.root, "sys/kernel/mm/transparent_hugepage/enabled")).to.equal("never");
    const saved = JSON.parse(await readFile(host.statePath, "utf8")) as { previous: unknown[] };
    expect(saved.previous).to.have.length(7);

    // A second --apply changes nothing and keeps the original values.
    await doctorCommand({ tune: true, apply: true }, captureIo().io, host);
    const reset = captureIo();
    await doctorCommand({ reset: true }, reset.io, host);
    expect(reset.text()).to.contain("restored  ksm: 1  (/sys/kernel/mm/ksm/run)");
    expect(await read(host.root, "sys/kernel/mm/ksm/run")).to.equal("1");
    expect(await read(host.root, "sys/devices/system/cpu/intel_pstate/no_turbo")).to.equal("0");
    expect(await read(host.root, "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")).to.equal(
      "powersave",
    );
    expect(await read(host.root, "sys/kernel/mm/transparent_hugepage/enabled")).to.equal("always");
    expect(await stat(host.statePath).catch(() => undefined)).to.equal(undefined);
  });

  it("refuses --apply and --reset when not root, clearly, before touching anything", async () => {
    const user = { ...host, isRoot: false };
    let error: unknown;
    await doctorCommand({ tune: true, apply: true }, captureIo().io, user).catch(
      (e: unknown) => (error = e),
    );
    expect(error).to.be.instanceOf(UsageError);
    expect((error as Error).message).to.equal(
      "doctor --apply changes host settings and needs root",
    );
    expect(await read(host.root, "sys/kernel/mm/ksm/run")).to.equal("1");
    error = undefined;
    await doctorCommand({ reset: true }, captureIo().io, user).catch((e: unknown) => (error = e));
    expect((error as Error).message).to.equal(
      "doctor --reset changes host settings and needs root",
    );
  });

  it("--reset without a saved state says there is nothing to reset", async () => {
    let error: unknown;
    await doctorCommand({ reset: true }, captureIo().io, host).catch((e: unknown) => (error = e));
    expect((error as Error).message).to.match(/^nothing to reset: .*tuned\.json does not exist$/);
  });
});
