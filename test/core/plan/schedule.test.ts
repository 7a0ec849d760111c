import { expect } from "chai";
import { parsePlanText } from "../../../src/core/plan/plan-text.js";
import { planCells, type Plan } from "../../../src/core/plan/plan.js";
import {
  buildSchedule,
  iterationKey,
  iterationsPerRound,
  remainingSchedule,
} from "../../../src/core/plan/schedule.js";

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

  it("shuffles each round on its own, small seeds too: rounds 1 and 2 agree for about half the seeds", () => {
    const two = parse(`iterations: 4
rounds: 4
kernels: [{ name: a, path: "debian:amd64" }, { name: b, path: "debian:amd64" }]
`);
    const order = (seed: number, round: number) =>
      buildSchedule(two, planCells(two), seed)
        .boots.filter((b) => b.round === round)
        .map((b) => b.kernel)
        .join();
    let same = 0;
    for (let seed = 0; seed < 400; seed++) if (order(seed, 1) === order(seed, 2)) same += 1;
    // Independent rounds: Binomial(400, 0.5), 200 ± 10; 4.5 sd either way is [155, 245].
    expect(same).to.be.within(155, 245);
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
