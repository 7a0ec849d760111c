import { readFile } from "node:fs/promises";
import { expect } from "chai";
import { parseCpusAllowed } from "../../src/core/host/vcpu-pinning.js";
import {
  pinQemuThreads,
  qemuThreadIds,
  queryVcpuThreads,
} from "../../src/machine/host/pin-vcpus.js";
import { launchVm, type RunningVm } from "../../src/machine/qemu/qemu-vm.js";
import { runCli } from "../helpers/cli.js";

/** A paused VM (no guest), as probe launches one: multi-threaded TCG has one thread per vCPU. */
function pausedVm(vcpus: number): Promise<RunningVm> {
  return launchVm({
    qemuPath: "qemu-system-x86_64",
    captureConsole: false,
    config: {
      machine: "q35",
      memory: { merge: false, backing: "memfd" },
      accelerator: "tcg",
      cpu: "max",
      memoryMiB: 128,
      vcpus,
      drives: [],
      paused: true,
    },
  });
}

/** Each thread's Cpus_allowed_list, read from /proc independently of the code under test. */
async function allowed(pid: number): Promise<Map<number, string>> {
  const map = new Map<number, string>();
  for (const tid of await qemuThreadIds(pid)) {
    const status = await readFile(`/proc/${pid}/task/${tid}/status`, "utf8");
    map.set(tid, (parseCpusAllowed(status) ?? []).join(","));
  }
  return map;
}

describe("vCPU pinning with a real QEMU under multi-threaded TCG @integration", function () {
  this.timeout(60_000);

  it("pins each vCPU thread to its own CPU, in list order, verified from /proc", async () => {
    await using vm = await pausedVm(2);
    const vcpus = await queryVcpuThreads(vm.qmp);
    expect(new Set(vcpus.map((v) => v.threadId)).size).to.equal(2);
    const record = await pinQemuThreads(vm, [1, 0]);
    expect(record.requested).to.equal("1,0");
    expect(record.vcpus).to.deep.equal([
      { vcpu: 0, threadId: vcpus[0]?.threadId, cpu: 1 },
      { vcpu: 1, threadId: vcpus[1]?.threadId, cpu: 0 },
    ]);
    expect(record.verified).to.equal(true);
    const now = await allowed(vm.pid);
    expect(now.get(vcpus[0]?.threadId ?? -1)).to.equal("1");
    expect(now.get(vcpus[1]?.threadId ?? -1)).to.equal("0");
    // The list takes every online CPU of this 2-CPU host: the other threads get the whole set.
    expect(record.others.cpus).to.equal("0-1");
    expect(record.others.threadIds.length).to.be.above(0);
    for (const tid of record.others.threadIds) expect(now.get(tid)).to.equal("0,1");
  });

  it("puts QEMU's other threads on the online CPUs the list leaves", async () => {
    await using vm = await pausedVm(1);
    const record = await pinQemuThreads(vm, [1]);
    expect(record.vcpus.map((v) => v.cpu)).to.deep.equal([1]);
    expect(record.others.cpus).to.equal("0");
    const now = await allowed(vm.pid);
    for (const tid of record.others.threadIds) expect(now.get(tid)).to.equal("0");
    expect(now.get(record.vcpus[0]?.threadId ?? -1)).to.equal("1");
  });
});

describe("--pin refused before booting @integration", function () {
  this.timeout(60_000);
  const run = (...extra: string[]) =>
    runCli([
      "run",
      "--accel",
      "tcg",
      "--iterations",
      "1",
      "--vcpus",
      "2",
      "--out",
      "/nonexistent/never",
      ...extra,
    ]);

  it("refuses CPUs that do not exist, too few CPUs and malformed lists, in one line with exit 2", async () => {
    const absent = await run("--pin", "6-7");
    expect(absent.exitCode).to.equal(2);
    expect(absent.stderr.trim().split("\n").at(-1)).to.match(
      /^balloon-bench: error: vCPU pin 6-7: CPUs 6-7 do not exist on this host \(online: 0-1\) \(fix: /,
    );
    const few = await run("--pin", "1");
    expect(few.exitCode).to.equal(2);
    expect(few.stderr).to.contain("balloon-bench: error: --pin 1 lists 1 CPU for 2 vCPUs");
    const malformed = await run("--pin", "0-1,1");
    expect(malformed.exitCode).to.equal(2);
    expect(malformed.stderr).to.contain("--pin '0-1,1' is not a CPU list: CPU 1 is listed twice");
    for (const result of [absent, few, malformed]) expect(result.stderr).not.to.contain("boot ");
  });
});
