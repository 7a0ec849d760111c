import { expect } from "chai";
import { UsageError } from "../../../src/core/errors.js";
import { parsePlanText } from "../../../src/core/plan/plan-text.js";
import { firstDifference, planCells, planHash, type Plan } from "../../../src/core/plan/plan.js";

const PLAN = `# two kernels x two configs, one workload everywhere and one restricted
seed: 42
iterations: 4
warmup: 1
rounds: 2
vm: { memoryMiB: 1024, vcpus: 1 }
accelerator: tcg
events: [task-clock, cache-misses]
kernels:
  - { name: stock, path: "debian:amd64" }
  - { name: patched, path: build/bzImage, modules: build/mods, cmdline: "transparent_hugepage=always quiet" }
configs:
  - { name: baseline, bits: [5] }
  - name: init-reported
    bits: [page-reporting, device-init-reported]
    propertyMap: { "6": x-init-reported }
    properties: { guest-stats-polling-interval: 0, x-flag: true }
workloads:
  - { name: thp, size: 256, pages: thp }
  - name: deflated
    size: 128
    balloon: { inflate-deflate: { inflate: 512, timeoutS: 30 } }
    kernels: [patched]
    configs: [init-reported]
`;

function parse(text: string): Plan {
  return parsePlanText(text, "/plans/p.yaml", "/plans");
}

function errorOf(text: string): string {
  try {
    parse(text);
  } catch (error) {
    expect(error).to.be.instanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("expected the plan to be refused");
}

describe("plan files", () => {
  it("parses kernels, configs (names, property maps, device properties) and workloads", () => {
    const plan = parse(PLAN);
    expect(plan.kernels).to.deep.equal([
      { name: "stock", kernelPath: "debian:amd64", modulesDir: undefined, cmdline: [] },
      {
        name: "patched",
        kernelPath: "/plans/build/bzImage",
        modulesDir: "/plans/build/mods",
        cmdline: ["transparent_hugepage=always", "quiet"],
      },
    ]);
    const reported = plan.configs[1];
    expect(reported?.bits).to.deep.equal([5, 6]);
    expect(reported?.propertyMap.get(6)).to.equal("x-init-reported");
    expect(plan.configs[0]?.propertyMap.get(6)).to.equal("x-device-init-reported");
    expect(reported?.deviceProperties).to.deep.equal([
      ["guest-stats-polling-interval", "0"],
      ["x-flag", "on"],
    ]);
    expect(plan.workloads[1]?.balloon).to.deep.equal({
      kind: "inflate-deflate",
      inflateMiB: 512,
      timeoutMs: 30_000,
    });
    expect(plan.workloads[0]?.balloon).to.deep.equal({ kind: "page-reporting" });
    expect(planCells(plan).map((c) => c.id)).to.deep.equal([
      "stock__baseline__thp",
      "stock__init-reported__thp",
      "patched__baseline__thp",
      "patched__init-reported__thp",
      "patched__init-reported__deflated",
    ]);
  });

  it("reads JSON plans with the same schema", () => {
    const plan = parse(
      JSON.stringify({ iterations: 2, workloads: [{ size: 64, pages: "hugetlb" }] }),
    );
    expect(plan.workloads[0]?.name).to.equal("alloc_once-64M-hugetlb");
    expect(plan.rounds).to.equal(2);
    expect(plan.configs.map((c) => [c.name, c.bits])).to.deep.equal([["bits-5", [5]]]);
  });

  it("names the file, line and field of a typo, a wrong type and a semantic error", () => {
    expect(errorOf("iterations: 3\nworkloads:\n  - size: 32\n    sizee: 3\n")).to.equal(
      "p.yaml:4: workloads[0].sizee: unknown field (a typo?)",
    );
    expect(errorOf("iterations: 3\nrounds: many\n")).to.match(
      /^p\.yaml:2: rounds: Invalid input: expected number, received string$/,
    );
    expect(errorOf("vm: { memoryMiB: 512 }\nworkloads:\n  - size: 32\n  - size: 200\n")).to.equal(
      "p.yaml:4: workloads[1].size: size 200 MiB does not fit in a 512 MiB guest (384 MiB stay reserved for the kernel and userspace)",
    );
    expect(errorOf("configs:\n  - name: a\n    bits: [5]\n  - name: b\n    bits: [6]\n")).to.equal(
      "p.yaml:5: configs[1].bits: bit 6 (VIRTIO_BALLOON_F_DEVICE_INIT_REPORTED) requires bit 5 (VIRTIO_BALLOON_F_PAGE_REPORTING)",
    );
    expect(errorOf("configs:\n  - { name: a, bits: [5, sparkle] }\n")).to.equal(
      "p.yaml:2: configs[0].bits[1]: unknown balloon feature 'sparkle'",
    );
    expect(errorOf("kernels:\n  - { name: a, path: x }\n  - { name: a, path: y }\n")).to.equal(
      "p.yaml:3: kernels[1].name: kernel name 'a' is used twice",
    );
    expect(
      errorOf("workloads:\n  - size: 32\n    kernels: [debian-stock]\n    configs: [nope]\n"),
    ).to.equal(
      "p.yaml:4: workloads[0].configs[0]: workload restricted to config 'nope', which the plan does not declare",
    );
    expect(errorOf("iterations: 2\nrounds: 3\n")).to.match(/^p\.yaml:2: rounds: rounds \(3\)/);
    expect(errorOf("iterations: [\n")).to.match(/^p\.yaml:\d+: /);
  });

  it("hashes plans by content (not the seed) and names the first difference", () => {
    const a = parse(PLAN);
    const b = parse(PLAN.replace("seed: 42", "seed: 7"));
    expect(planHash(a)).to.equal(planHash(b));
    const c = parse(PLAN.replace("size: 128", "size: 64"));
    expect(planHash(c)).not.to.equal(planHash(a));
    expect(firstDifference({ w: [{ size: 128 }] }, { w: [{ size: 64 }] })).to.equal(
      "w[0].size: 128 vs 64",
    );
    expect(firstDifference({ a: 1 }, { a: 1 })).to.equal(undefined);
  });
});
