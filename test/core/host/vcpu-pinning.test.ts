import { expect } from "chai";
import {
  checkPinCount,
  checkPinOnline,
  parseCpusAllowed,
  parsePinList,
  parseVcpuThreads,
  pinningMismatches,
  pinningPlan,
  pinningRecord,
} from "../../../src/core/host/vcpu-pinning.js";
import { UsageError } from "../../../src/core/errors.js";

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("did not throw");
}

describe("vCPU pinning", () => {
  it("parses pin lists and refuses malformed, empty and overlapping ones in one line", () => {
    expect(parsePinList("2-3", "--pin")).to.deep.equal([2, 3]);
    expect(parsePinList("3,2", "--pin")).to.deep.equal([3, 2]);
    expect(usageMessage(() => parsePinList("2-x", "--pin"))).to.equal(
      "--pin '2-x' is not a CPU list: '2-x' is not a CPU number or range (N or N-M)",
    );
    expect(usageMessage(() => parsePinList("1-2,2", "vm.pin"))).to.equal(
      "vm.pin '1-2,2' is not a CPU list: CPU 2 is listed twice",
    );
    expect(usageMessage(() => parsePinList(" ", "--pin"))).to.equal("--pin is empty");
  });

  it("refuses fewer CPUs than vCPUs", () => {
    expect(usageMessage(() => checkPinCount([1], 2, "--pin"))).to.equal(
      "--pin 1 lists 1 CPU for 2 vCPUs",
    );
    expect(() => checkPinCount([1, 2, 3], 2, "--pin")).not.to.throw();
  });

  it("refuses CPUs that do not exist or are offline, naming them", () => {
    expect(
      usageMessage(() => checkPinOnline([1, 8], { online: [0, 1], possible: [0, 1] }, "--pin 1,8")),
    ).to.equal("--pin 1,8: CPU 8 does not exist on this host (online: 0-1)");
    expect(
      usageMessage(() =>
        checkPinOnline(
          [4, 5],
          { online: [0, 1, 2, 3], possible: [0, 1, 2, 3, 4, 5, 6, 7] },
          "--pin",
        ),
      ),
    ).to.equal("--pin: CPUs 4-5 are offline (online: 0-3)");
    expect(() => checkPinOnline([0, 1], { online: [0, 1] }, "--pin")).not.to.throw();
  });

  it("reads vCPU threads from query-cpus-fast", () => {
    const reply = [
      {
        "thread-id": 29618,
        props: { "core-id": 1 },
        "qom-path": "/machine/unattached/device[2]",
        "cpu-index": 1,
        target: "x86_64",
      },
      {
        "thread-id": 29617,
        props: { "core-id": 0 },
        "qom-path": "/machine/unattached/device[0]",
        "cpu-index": 0,
        target: "x86_64",
      },
    ];
    expect(parseVcpuThreads(reply)).to.deep.equal([
      { cpuIndex: 0, threadId: 29617 },
      { cpuIndex: 1, threadId: 29618 },
    ]);
  });

  const vcpus = [
    { cpuIndex: 0, threadId: 11 },
    { cpuIndex: 1, threadId: 12 },
  ];

  it("pins each vCPU to its own CPU and the other threads to the remaining online CPUs", () => {
    const plan = pinningPlan(vcpus, [10, 11, 12, 13], [2, 3], [0, 1, 2, 3]);
    expect(plan).to.deep.equal([
      { threadId: 11, cpus: [2], vcpu: 0 },
      { threadId: 12, cpus: [3], vcpu: 1 },
      { threadId: 10, cpus: [0, 1] },
      { threadId: 13, cpus: [0, 1] },
    ]);
    expect(pinningRecord([2, 3], plan)).to.deep.equal({
      requested: "2-3",
      vcpus: [
        { vcpu: 0, threadId: 11, cpu: 2 },
        { vcpu: 1, threadId: 12, cpu: 3 },
      ],
      others: { threadIds: [10, 13], cpus: "0-1" },
      verified: true,
    });
  });

  it("gives the other threads every online CPU when the pin list takes them all", () => {
    const plan = pinningPlan(vcpus, [10, 11, 12], [0, 1], [0, 1]);
    expect(plan.find((a) => a.threadId === 10)?.cpus).to.deep.equal([0, 1]);
  });

  it("verifies Cpus_allowed_list read back from /proc", () => {
    expect(
      parseCpusAllowed("Name:\tqemu\nCpus_allowed:\t4\nCpus_allowed_list:\t2\n"),
    ).to.deep.equal([2]);
    expect(parseCpusAllowed("Cpus_allowed_list:\t0-1,3\n")).to.deep.equal([0, 1, 3]);
    const plan = pinningPlan(vcpus, [10, 11, 12], [2, 3], [0, 1, 2, 3]);
    const allowed = new Map([
      [10, [0, 1]],
      [11, [2]],
      [12, [0, 1, 2, 3]],
    ]);
    expect(pinningMismatches(plan, allowed)).to.deep.equal([
      "thread 12 (vCPU 1) may run on 0-3, not 3",
    ]);
  });
});
