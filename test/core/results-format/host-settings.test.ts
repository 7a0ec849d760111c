import { expect } from "chai";
import { buildComparison, type CellData } from "../../../src/core/compare/compare-model.js";
import type { HostState } from "../../../src/core/host/host-state.js";
import { compatible, runIdentity } from "../../../src/core/results-format/compatible.js";
import { cellViews, manifestSchema } from "../../../src/core/results-format/manifest.js";
import {
  mergeManifests,
  shardHostDifferences,
} from "../../../src/core/results-format/merge-manifests.js";
import type { Sample } from "../../../src/core/results-format/sample.js";
import { readHostState } from "../../../src/machine/host/read-host-state.js";
import { hostTree } from "../../helpers/host-trees.js";
import { runCell, runManifest } from "../../helpers/manifests.js";

function samples(cell: string, kernel: string, values: number[][]): Sample[] {
  return values.flatMap((boot, b) =>
    boot.map((value, i) => ({
      schema: 1 as const,
      cell,
      kernel,
      config: "bits-5",
      workload: "w",
      iteration: b * boot.length + i + 1,
      warmup: false,
      startedAt: "2026-12-01T00:00:00.000Z",
      wallMs: 1000,
      settle: { method: "none" as const },
      counters: { "task-clock": { status: "counted" as const, value, unit: "msec" } },
      round: b + 1,
      boot: `${kernel}-b${b + 1}`,
    })),
  );
}

function cell(kernel: string, hostState: HostState | undefined, values: number[][]): CellData {
  return {
    source: kernel,
    id: `${kernel}__bits-5__w`,
    kernel,
    config: "bits-5",
    workload: "w",
    samples: samples(`${kernel}__bits-5__w`, kernel, values),
    environment: { accelerator: "kvm", qemuVersion: "7.2.0", cpuModel: "x" },
    unnegotiatedBits: [],
    hostState,
  };
}

describe("host settings across runs: recorded, not fingerprinted, flagged by name", () => {
  let tuned: HostState;
  let noisy: HostState;
  before(async () => {
    tuned = await readHostState(hostTree("tuned"));
    noisy = await readHostState(hostTree("ksm-powersave"));
  });

  it("records the host state in a run manifest (schema-valid)", () => {
    const parsed = manifestSchema.parse(runManifest({ hostState: tuned }));
    expect(parsed.kind === "run" ? parsed.hostState : undefined).to.deep.equal(tuned);
  });

  it("does not refuse a resume or a merge over host state; merge names the differing settings", () => {
    const shard = (index: number, hostState: HostState) => ({
      dir: `s${index}`,
      manifest: runManifest({
        shard: { index, count: 2 },
        hostState,
        cells: [runCell(`c${index}`, { status: "complete" })],
      }),
    });
    const [a, b] = [shard(1, tuned), shard(2, noisy)];
    expect(compatible(runIdentity(a.manifest), runIdentity(b.manifest), "merge")).to.equal(
      undefined,
    );
    const loadOnly = shard(2, { ...tuned, load: noisy.load });
    expect(
      compatible(
        runIdentity(a.manifest),
        runIdentity({ ...loadOnly.manifest, shard: a.manifest.shard }),
        "resume",
      ),
    ).to.equal(undefined);
    const merged = mergeManifests([a, b]);
    expect(merged.mergedFrom?.map((m) => m.hostState?.ksmRun)).to.deep.equal([0, 1]);
    expect(shardHostDifferences([a, b])).to.deep.equal([
      "s2 vs s1: host setting governor differs: performance vs powersave",
      "s2 vs s1: host setting boost differs: off vs on",
      "s2 vs s1: host setting smt differs: off vs on",
      "s2 vs s1: host setting thp.enabled differs: madvise vs always",
      "s2 vs s1: host setting ksm differs: 0 vs 1",
    ]);
    expect(shardHostDifferences([a, loadOnly])).to.deep.equal([]);
    // Each cell keeps the state of the shard that ran it, so compare sees the difference.
    expect(merged.cells.map((c) => c.hostState?.ksmRun)).to.deep.equal([undefined, 1]);
    expect(cellViews(merged).map((v) => v.hostState?.ksmRun)).to.deep.equal([0, 1]);
    expect(manifestSchema.safeParse(merged).success).to.equal(true);
  });

  it("compare flags a comparison whose host settings differ, naming the setting", () => {
    const values = [
      [100, 101],
      [99, 100],
      [101, 102],
    ];
    const report = buildComparison([
      cell("base", tuned, values),
      cell("cand", { ...tuned, ksmRun: 1 }, values),
    ]);
    expect(report.comparisons[0]?.flags).to.include("host setting ksm differs: 0 vs 1");
    const same = buildComparison([cell("base", tuned, values), cell("cand", tuned, values)]);
    expect(same.comparisons[0]?.flags.filter((f) => f.startsWith("host setting"))).to.deep.equal(
      [],
    );
    const old = buildComparison([cell("base", undefined, values), cell("cand", noisy, values)]);
    expect(old.comparisons[0]?.flags.filter((f) => f.startsWith("host setting"))).to.deep.equal([]);
  });

  it("compare flags an iteration that ran under visibly more host load than its boot's others", () => {
    const base = cell("base", tuned, [[100, 101, 100, 99]]);
    const loaded: CellData = {
      ...base,
      samples: base.samples.map((s, i) => ({
        ...s,
        telemetry: {
          rssBeforeBytes: 0,
          rssAfterBytes: 0,
          balloonActualBytes: 0,
          vmstatDeltas: {},
          interference: {
            nonVcpuCpuMs: i === 2 ? 400 : 50,
            nonVcpuThreads: 4,
            vcpuCpuMs: 900,
            cpuPressureStallMs: null,
            cpuPressureAvg10: null,
            procsRunning: 1,
            hostStealPct: 0,
          },
        },
      })),
    };
    const report = buildComparison([loaded, cell("cand", tuned, [[100, 101, 100, 99]])]);
    expect(report.comparisons[0]?.flags).to.include(
      "base/bits-5: iteration 3 (boot base-b1) ran under more host load than its boot's others: QEMU's non-vCPU threads used 400 ms of host CPU (median 50 ms)",
    );
  });
});
