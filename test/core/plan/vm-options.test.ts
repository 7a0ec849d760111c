import { expect } from "chai";
import { UsageError } from "../../../src/core/errors.js";
import { parseHostState } from "../../../src/core/host/host-state.js";
import { planFromFlags, type PlanFlagValues } from "../../../src/core/plan/plan-flags.js";
import { parsePlanText } from "../../../src/core/plan/plan-text.js";
import { planRecord, type Plan } from "../../../src/core/plan/plan.js";
import {
  checkHostForGuest,
  guestMemoryOf,
  hugepagesShortage,
  hugetlbCaveats,
  withPinFlag,
} from "../../../src/core/plan/vm-options.js";

const parse = (text: string): Plan => parsePlanText(text, "/plans/p.yaml", "/plans");

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("expected a refusal");
}

const FLAGS: PlanFlagValues = {
  kernel: [],
  size: "16",
  iterations: "1",
  warmup: "0",
  scenario: "none",
  accel: "tcg",
  events: "task-clock",
  features: "5",
  map: [],
  memory: "1024",
  vcpus: "2",
  bootTimeout: "60",
  settle: "0",
};

describe("the plan's vm options: guest memory and pinning", () => {
  it("defaults to mem-merge off and anonymous RAM, recorded in the plan", () => {
    const plan = parse("workloads: [{ size: 16 }]\n");
    expect(guestMemoryOf(plan)).to.deep.equal({ merge: false, backing: "anonymous" });
    expect(plan.allowHugetlbBalloon).to.equal(false);
    expect(plan.pin).to.equal(undefined);
    expect(planRecord(plan)).to.include({
      memMerge: false,
      memoryBacking: "anonymous",
      allowHugetlbBalloon: false,
    });
  });

  it("takes memMerge, memoryBacking and pin from vm", () => {
    const plan = parse(
      "vm: { memoryMiB: 1024, memMerge: true, memoryBacking: memfd, pin: '2-3' }\nworkloads: [{ size: 16 }]\n",
    );
    expect(guestMemoryOf(plan)).to.deep.equal({ merge: true, backing: "memfd" });
    expect(plan.pin).to.deep.equal([2, 3]);
    expect(parse("vm: { pin: [3, 1] }\nworkloads: [{ size: 16 }]\n").pin).to.deep.equal([3, 1]);
    // Pinning is the host's business: not part of the plan's hash.
    expect(planRecord(plan)).not.to.have.property("pin");
  });

  it("refuses a malformed or too short pin list in one line", () => {
    expect(refusal(() => parse("vm: { pin: '2-' }\n"))).to.equal(
      "p.yaml:1: vm.pin: vm.pin '2-' is not a CPU list: '2-' is not a CPU number or range (N or N-M)",
    );
    expect(refusal(() => parse("vm: { vcpus: 2, pin: '3' }\n"))).to.equal(
      "p.yaml:1: vm.pin: vm.pin 3 lists 1 CPU for 2 vCPUs",
    );
    expect(refusal(() => parse("vm: { memoryBacking: hugepages }\n"))).to.match(
      /^p\.yaml:1: vm\.memoryBacking: /,
    );
  });

  it("refuses hugetlb backing with a reporting or inflate-deflate scenario, plainly", () => {
    const message = refusal(() =>
      parse("vm: { memoryBacking: hugetlb }\nworkloads: [{ size: 16, balloon: page-reporting }]\n"),
    );
    expect(message).to.equal(
      'p.yaml:2: workloads[0].balloon: workload alloc_once-16M uses the balloon (page-reporting) on hugetlb-backed guest memory: QEMU warns that ballooning with a backing page size over 4 KiB "may not be reliable", and free page reporting skips ranges not aligned to the 2 MiB pages',
    );
    expect(
      refusal(() =>
        parse(
          "vm: { memoryBacking: hugetlb }\nworkloads: [{ size: 16, balloon: { inflate-deflate: { inflate: 256 } } }]\n",
        ),
      ),
    ).to.contain("uses the balloon (inflate-deflate) on hugetlb-backed guest memory");
    expect(
      refusal(() =>
        parse(
          "vm: { memoryBacking: hugetlb, memoryMiB: 1025 }\nworkloads: [{ size: 16, balloon: none }]\n",
        ),
      ),
    ).to.contain("vm.memoryBacking hugetlb needs whole 2 MiB pages, but memoryMiB is 1025");
  });

  it("runs hugetlb with the balloon when the plan allows it, warned and recorded", () => {
    const plan = parse(
      "vm: { memoryBacking: hugetlb, allowHugetlbBalloon: true }\nconfigs: [{ name: r, bits: [5] }]\nworkloads: [{ size: 16, balloon: page-reporting }]\n",
    );
    expect(hugetlbCaveats(plan)).to.deep.equal([
      'workload alloc_once-16M uses the balloon (page-reporting) on hugetlb-backed guest memory (vm.allowHugetlbBalloon): QEMU warns that ballooning with a backing page size over 4 KiB "may not be reliable", and free page reporting skips ranges not aligned to the 2 MiB pages',
      "config r offers free page reporting (bit 5) on hugetlb-backed guest memory: QEMU discards only reported ranges aligned to 2 MiB",
    ]);
    const quiet = parse(
      "vm: { memoryBacking: hugetlb }\nconfigs: [{ name: n, bits: [2] }]\nworkloads: [{ size: 16, balloon: none }]\n",
    );
    expect(hugetlbCaveats(quiet)).to.deep.equal([]);
  });

  it("takes --pin on the flags and over a plan file, checked against the vCPUs", () => {
    const plan = planFromFlags(FLAGS, "/w");
    expect(withPinFlag(plan, "0,1").pin).to.deep.equal([0, 1]);
    expect(withPinFlag(plan, undefined).pin).to.equal(undefined);
    expect(refusal(() => withPinFlag(plan, "1"))).to.equal("--pin 1 lists 1 CPU for 2 vCPUs");
    expect(refusal(() => withPinFlag(plan, "a"))).to.equal(
      "--pin 'a' is not a CPU list: 'a' is not a CPU number or range (N or N-M)",
    );
    const fromFile = parse("vm: { pin: '2-3' }\nworkloads: [{ size: 16 }]\n");
    expect(withPinFlag(fromFile, "0-1").pin).to.deep.equal([0, 1]);
  });
});

describe("the host a run's guests need, checked before booting", () => {
  const host = parseHostState(
    new Map([
      ["sys/devices/system/cpu/online", "0-1\n"],
      ["sys/devices/system/cpu/possible", "0-3\n"],
      ["sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "100\n"],
      ["sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "100\n"],
    ]),
  );
  const memory = { merge: false, backing: "anonymous" } as const;

  it("refuses pinned CPUs that are offline or absent", () => {
    expect(
      refusal(() => checkHostForGuest({ memoryMiB: 1024, memory, pin: [1, 2] }, host)),
    ).to.equal("vCPU pin 1-2: CPU 2 is offline (online: 0-1)");
    expect(
      refusal(() => checkHostForGuest({ memoryMiB: 1024, memory, pin: [7, 9] }, host)),
    ).to.equal("vCPU pin 7,9: CPUs 7,9 do not exist on this host (online: 0-1)");
    expect(() => checkHostForGuest({ memoryMiB: 1024, memory, pin: [0, 1] }, host)).not.to.throw();
  });

  it("refuses a hugetlb guest the host has too few free huge pages for, naming the sysctl", () => {
    const error = hugepagesShortage(1024, { total: 100, free: 100 });
    expect(error?.message).to.equal(
      "vm.memoryBacking hugetlb needs 512 free 2 MiB huge pages for a 1024 MiB guest; the host has 100 free (100 reserved)",
    );
    expect(error?.hint).to.equal("raise vm.nr_hugepages: sysctl -w vm.nr_hugepages=512 (as root)");
    expect(hugepagesShortage(128, { total: 100, free: 64 })).to.equal(undefined);
    expect(hugepagesShortage(128, null)?.hint).to.equal(
      "raise vm.nr_hugepages: sysctl -w vm.nr_hugepages=64 (as root)",
    );
    expect(() =>
      checkHostForGuest({ memoryMiB: 1024, memory: { merge: false, backing: "hugetlb" } }, host),
    ).to.throw(UsageError, "needs 512 free 2 MiB huge pages");
  });
});
