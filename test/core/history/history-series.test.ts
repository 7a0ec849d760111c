import { expect } from "chai";
import { analyzeSeries } from "../../../src/core/history/series-analysis.js";
import { buildSeries } from "../../../src/core/history/history-series.js";
import { analyze, cell, records, run, synthetic } from "./fixtures.js";

describe("history series, splits and the gate", () => {
  it("groups records into kernel line × config × workload × metric series, oldest night first", () => {
    const runs = [2, 0, 1].map((n) =>
      run(n, [
        cell(1000, { kernel: "mainline" }),
        cell(900, { kernel: "series-v9", config: "bits-5" }),
      ]),
    );
    const series = buildSeries(records(runs));
    expect(series.map((s) => s.id)).to.deep.equal([
      "mainline · bits-5-6 · alloc_once-256M · task-clock",
      "series-v9 · bits-5 · alloc_once-256M · task-clock",
    ]);
    expect(series[0]!.records.map((r) => r.sourceRun.slice(-3))).to.deep.equal([
      "000",
      "001",
      "002",
    ]);
    expect(series[0]!.segments).to.deep.equal([[0, 3]]);
  });

  it("splits a series where the fingerprint changes, with the reason, never as a change", () => {
    const list = synthetic(7, 70, [{ kind: "fingerprint", night: 40, relative: 0.15 }]);
    const [series] = buildSeries(list);
    expect(series!.splits).to.deep.equal([
      {
        index: 40,
        date: series!.records[40]!.date,
        kind: "fingerprint",
        reason: 'fingerprint changed: hostKernel "6.1.0-40-amd64" → "6.12.0-1-amd64"',
      },
    ]);
    expect(series!.segments).to.deep.equal([
      [0, 40],
      [40, 70],
    ]);
    // Never a change at the break; the same +15 % jump without the new fingerprint is one.
    const atBreak = analyzeSeries(series!).changes.filter((c) => Math.abs(c.index - 40) <= 3);
    expect(atBreak).to.deep.equal([]);
    const jump = synthetic(7, 70, [{ kind: "step", night: 40, relative: 0.15 }]);
    expect(analyze(jump)[0]!.changes.map((c) => c.index)).to.include(40);
  });

  it("does not split on a new build of the kernel line (kernel keys are not environment)", () => {
    const list = synthetic(8, 30);
    expect(new Set(list.map((r) => r.fingerprint.kernelSha256)).size).to.equal(30);
    expect(buildSeries(list)[0]!.splits).to.deep.equal([]);
  });

  it("splits where the negotiated or requested bits change; unknown bits split nothing", () => {
    const bits = [[1, 5, 6], null, [1, 5, 6], [1, 5], [1, 5]] as const;
    const runs = bits.map((b, n) =>
      run(n, [cell(1000, { negotiatedBits: b === null ? null : [...b] })]),
    );
    runs.push(run(5, [cell(1000, { negotiatedBits: [1, 5], requestedBits: [5] })]));
    const [series] = buildSeries(records(runs));
    expect(series!.splits.map((s) => [s.index, s.kind, s.reason])).to.deep.equal([
      [3, "negotiated-bits", "negotiated bits changed: 1,5,6 → 1,5"],
      [5, "requested-bits", "requested bits changed: 5,6 → 5"],
    ]);
  });
});
