import { expect } from "chai";
import { featureFindings, fingerprintDifference } from "../../../src/experiment/run-experiment.js";
import { UsageError } from "../../../src/core/errors.js";
import { parsePlanText } from "../../../src/core/plan/plan-file.js";
import { firstDifference, planCells, planHash, type Plan } from "../../../src/core/plan/plan.js";
import {
  buildSchedule,
  iterationKey,
  iterationsPerRound,
  remainingSchedule,
} from "../../../src/core/plan/schedule.js";
import { parseShard, shardCells } from "../../../src/core/plan/shard.js";
import { mergeManifests } from "../../../src/experiment/merge.js";

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

const FINGERPRINT = {
  tool: "0.1.0",
  qemuVersion: "7.2.0",
  accelerator: "kvm",
  hostKernel: "6.1",
  cpuModel: "x",
  imageHash: "i",
  allocOnceSha256: "a",
  kernels: { stock: "s" },
  balloonModuleSha256: null,
};

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

describe("the interleaved schedule", () => {
  const plan = parse(PLAN);
  const cells = planCells(plan);

  it("spreads counted iterations over rounds as evenly as possible", () => {
    expect(iterationsPerRound(10, 3)).to.deep.equal([4, 3, 3]);
    expect(iterationsPerRound(2, 2)).to.deep.equal([1, 1]);
  });

  it("boots every kernel x config once per round, in a seeded shuffled order", () => {
    const schedule = buildSchedule(plan, cells, 42);
    expect(schedule.boots.map((b) => b.id)).to.deep.equal(
      buildSchedule(plan, cells, 42).boots.map((b) => b.id),
    );
    const pairs = [
      "stock__baseline",
      "stock__init-reported",
      "patched__baseline",
      "patched__init-reported",
    ];
    for (const round of [1, 2]) {
      const ids = schedule.boots.filter((b) => b.round === round).map((b) => b.id);
      expect([...ids].sort()).to.deep.equal(pairs.map((p) => `${p}__r${round}`).sort());
    }
    // Some seed gives a different order from plan order: the order is not all-of-A-then-B.
    const orders = new Set(
      [1, 2, 3, 4, 5].map((seed) =>
        buildSchedule(plan, cells, seed)
          .boots.map((b) => b.id)
          .join(),
      ),
    );
    expect(orders.size).to.be.greaterThan(1);
    const patched = schedule.boots.find((b) => b.id === "patched__init-reported__r2");
    expect(
      patched?.workloads.map((w) => [w.workload, w.warmups, w.iterations]).sort(),
    ).to.deep.equal([
      ["deflated", 1, [3, 4]],
      ["thp", 1, [3, 4]],
    ]);
  });

  it("leaves out what is on disk and keeps warm-ups for a partly done boot", () => {
    const schedule = buildSchedule(plan, cells, 42);
    const done = new Set([
      ...cells.flatMap((c) => [iterationKey(c.id, 1), iterationKey(c.id, 2)]),
      iterationKey("patched__init-reported__thp", 3),
    ]);
    const left = remainingSchedule(schedule, done);
    expect(left.every((b) => b.round === 2)).to.equal(true);
    const patched = left.find((b) => b.id === "patched__init-reported__r2");
    expect(
      patched?.workloads.map((w) => [w.workload, w.warmups, w.iterations]).sort(),
    ).to.deep.equal([
      ["deflated", 1, [3, 4]],
      ["thp", 1, [4]],
    ]);
  });
});

describe("shards", () => {
  it("deals cells round-robin: every cell in exactly one shard", () => {
    const cells = planCells(parse(PLAN));
    const shards = [1, 2, 3].map((index) => shardCells(cells, { index, count: 3 }));
    expect(
      shards
        .flat()
        .map((c) => c.id)
        .sort(),
    ).to.deep.equal(cells.map((c) => c.id).sort());
    expect(shards.map((s) => s.length)).to.deep.equal([2, 2, 1]);
  });

  it("parses I/N and refuses anything else in one line", () => {
    expect(parseShard("2/4")).to.deep.equal({ index: 2, count: 4 });
    expect(() => parseShard("5/4")).to.throw(UsageError, "--shard '5/4' is not a slice I/N");
    expect(() => parseShard("0/4")).to.throw(UsageError);
  });
});

describe("feature verification", () => {
  it("says in words which requested bit was not offered or not negotiated", () => {
    expect(featureFindings([5, 6], [1, 5, 6], [1, 5], "patched")).to.deep.equal([
      "bit 6 requested and offered, but kernel patched did not negotiate it",
    ]);
    expect(featureFindings([7], [1], [1], "k")).to.deep.equal([
      "bit 7 requested, but the device did not offer it",
    ]);
    expect(featureFindings([5], [1, 5], [1, 5], "k")).to.deep.equal([]);
  });

  it("names the first differing environment field", () => {
    const base = FINGERPRINT;
    expect(fingerprintDifference(base, { ...base })).to.equal(undefined);
    expect(fingerprintDifference(base, { ...base, accelerator: "tcg" })).to.equal(
      'accelerator "kvm" vs "tcg"',
    );
  });
});

describe("merging shards", () => {
  const fingerprint = FINGERPRINT;
  const shard = (index: number, extra: Record<string, unknown> = {}) => ({
    dir: `s${index}`,
    manifest: {
      schema: 2,
      plan: { hash: "h", seed: 1 },
      shard: { index, count: 2 },
      fingerprint,
      cells: [{ id: `c${index}`, status: "complete" }],
      ...extra,
    },
  });

  it("merges shards 1..N of one plan in shard order", () => {
    const merged = mergeManifests([shard(2), shard(1)]);
    expect(merged["cells"]).to.deep.equal([
      { id: "c1", status: "complete" },
      { id: "c2", status: "complete" },
    ]);
    expect(merged["shard"]).to.equal(null);
  });

  it("refuses other plans, seeds and environments, naming the difference", () => {
    expect(() =>
      mergeManifests([shard(1), shard(2, { plan: { hash: "other", seed: 1 } })]),
    ).to.throw(UsageError, "s2 and s1 come from different plans");
    expect(() =>
      mergeManifests([
        shard(1),
        shard(2, { fingerprint: { ...fingerprint, qemuVersion: "8.2.2" } }),
      ]),
    ).to.throw(
      UsageError,
      's2 was measured in a different environment from s1: qemuVersion "7.2.0" vs "8.2.2"',
    );
    expect(() => mergeManifests([shard(1), shard(2, { shard: { index: 2, count: 3 } })])).to.throw(
      UsageError,
      "s2 is shard 2/3, but s1 is one of 2",
    );
  });
});
