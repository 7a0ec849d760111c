import { expect } from "chai";
import { UsageError } from "../../../src/core/errors.js";
import { parsePlanText } from "../../../src/core/plan/plan-text.js";
import { planCells, type Plan } from "../../../src/core/plan/plan.js";
import { parseShard, shardCells } from "../../../src/core/plan/shard.js";

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
