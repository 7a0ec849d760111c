import { expect } from "chai";
import { buildComparison } from "../../../src/core/compare/compare-model.js";
import { applyGates } from "../../../src/core/compare/gates.js";
import { renderJson } from "../../../src/core/compare/render-json.js";
import { renderText } from "../../../src/core/compare/render-table.js";
import { cellOf, oneEach } from "../../helpers/cells.js";

const baseline = (values: number[]) => cellOf("base", oneEach(values));
const candidate = (values: number[]) => cellOf("cand", oneEach(values));
const TEN = [100.2, 99.1, 101.3, 100.4, 98.7, 100.9, 99.6, 100.1, 101.0, 99.4];

/** Each edge case of the statistics audit, pinned to a clear verdict or message. */
describe("verdicts: the boot is the unit, effects have a size, nothing prints NaN", () => {
  it("calls zero variance with a 0.004 % difference 'no change', not a regression", () => {
    const report = buildComparison([
      baseline(Array<number>(5).fill(232)),
      candidate(Array<number>(5).fill(232.01)),
    ]);
    const [c] = report.comparisons;
    expect(c?.verdict).to.equal("no change");
    expect(c?.reason).to.equal("the 95 % CI lies within ±2 %");
    expect(c?.flags).to.deep.include(
      "task-clock: every boot gave the same value on each side; the difference is exact",
    );
  });

  it("compares a baseline mean of 0 by its difference: no Infinity, no percentage", () => {
    const report = buildComparison([
      cellOf("base", oneEach([0, 0, 0, 0, 0]), { metric: "vmstat.thp_fault_alloc", unit: "" }),
      cellOf("cand", oneEach([4, 6, 5, 5, 7]), { metric: "vmstat.thp_fault_alloc", unit: "" }),
    ]);
    const [c] = report.comparisons;
    expect(c?.method).to.equal("difference");
    expect(c?.deltaPct).to.equal(null);
    expect(c?.verdict).to.equal("regression");
    const text = renderText(report);
    expect(text).not.to.match(/Infinity|NaN/);
    expect(text).to.contain("+5");
    const json = renderJson(report, applyGates(report, { failOnRegressionPct: 5 }));
    expect(json).not.to.match(/Infinity|NaN/);
    const parsed = JSON.parse(json) as { comparisons: { deltaPct: number | null }[] };
    expect(parsed.comparisons[0]?.deltaPct).to.equal(null);
    expect(applyGates(report, { failOnRegressionPct: 5 }).status).to.equal("failed");
  });

  it("says a cell with too few boots is insufficient, and the gate does not pass it", () => {
    const report = buildComparison([
      cellOf("base", [[100, 101, 99]]),
      cellOf("cand", [[108, 107, 109]]),
    ]);
    const [c] = report.comparisons;
    expect(c?.verdict).to.equal("insufficient data");
    expect(c?.reason).to.equal("1 boot per side; a verdict needs at least 4");
    expect(c?.pWelch).to.equal(null);
    const gates = applyGates(report, { failOnRegressionPct: 5 });
    expect(gates.status).to.equal("undecided");
    expect(gates.undecided.get(0)).to.equal(
      "task-clock (w, cand/bits-5 vs base/bits-5): 1 boot per side; a verdict needs at least 4",
    );
    expect(renderText(report, gates)).not.to.match(/NaN|Infinity/);
  });

  it("computes tiny p-values from the survival function instead of printing 0", () => {
    const report = buildComparison([baseline(TEN), candidate(TEN.map((v) => v * 1.5))]);
    const p = report.comparisons[0]?.pWelch ?? 1;
    expect(p).to.be.greaterThan(0).and.below(1e-16);
    expect(renderText(report)).to.match(/\d\.\de-\d\d/);
  });

  it("lists a metric counted on one side only, and iterations perf did not count", () => {
    const base = cellOf("base", oneEach([100, 101, 99, 100, 102]), {
      extra: { "cache-misses": oneEach([5, 5, 5, 5, 5]) },
    });
    const cand = cellOf(
      "cand",
      oneEach([100, "not-counted", 99, "not-counted", 101, "not-counted", 100, 98, 101, 100]),
    );
    const report = buildComparison([base, cand]);
    expect(report.dropped).to.deep.equal([
      "cache-misses (w) was counted on base/bits-5 only, not on cand/bits-5: not compared",
    ]);
    expect(report.comparisons[0]?.dropped).to.deep.equal([
      "task-clock on cand/bits-5: 3 of 10 iterations without a count (perf printed <not-counted>), compared over the other 7",
    ]);
    const text = renderText(report);
    expect(text).to.contain("dropped: cache-misses (w) was counted on base/bits-5 only");
    expect(text).to.contain("dropped: task-clock on cand/bits-5: 3 of 10 iterations");
  });

  it("prints an sd of 999,999.9 as 1.00M", () => {
    const report = buildComparison([
      cellOf("base", oneEach([1e6, 3e6, 2e6, 1e6, 3e6]), { metric: "instructions", unit: "" }),
      cellOf(
        "cand",
        oneEach([16.3e6, 16.3e6 + 1999999.8, 16.3e6, 16.3e6 + 1999999.8, 16.3e6 + 999999.9]),
        {
          metric: "instructions",
          unit: "",
        },
      ),
    ]);
    const text = renderText(report);
    expect(text).not.to.contain("e+3K");
    expect(text).to.contain("± 1.00M");
  });

  it("flags a ×100 outlier, and does not call the change by Welch alone", () => {
    const base = TEN;
    const cand = TEN.map((v) => v * 0.86);
    cand[4] = (cand[4] ?? 0) * 100;
    const report = buildComparison([baseline(base), candidate(cand)]);
    const [c] = report.comparisons;
    expect(
      c?.flags.some((f) => /iteration 5 \(boot cand__bits-5__r5\) is an outlier/.test(f)),
    ).to.equal(true);
    expect(c?.flags).to.deep.include(
      "task-clock: the means and Mann-Whitney point opposite ways (the mean rose, most boots fell); an outlier may drive the mean",
    );
    expect(c?.verdict).to.equal("inconclusive");
  });

  it("calls +0.5 % with tiny noise 'no change': below the minimum effect", () => {
    const report = buildComparison([
      baseline(TEN.map((v) => 1000 + v / 100)),
      candidate(TEN.map((v) => 1005 + v / 100)),
    ]);
    const [c] = report.comparisons;
    expect(c?.deltaPct).to.be.closeTo(0.5, 0.01);
    expect(c?.pWelch).to.be.below(0.001);
    expect(c?.verdict).to.equal("no change");
  });

  it("says how many boots an inconclusive comparison would need", () => {
    const noisy = [100, 120, 85, 110, 95];
    const report = buildComparison([baseline(noisy), candidate(noisy.map((v) => v * 1.06))]);
    const [c] = report.comparisons;
    expect(c?.verdict).to.equal("inconclusive");
    expect(c?.bootsNeeded).to.be.a("number").and.above(5);
    expect(renderText(report)).to.match(/about \d+ boots per side would decide it/);
  });

  it("reports the intra-boot correlation when boots ran several iterations", () => {
    const report = buildComparison([
      cellOf("base", [
        [100, 101],
        [110, 111],
        [90, 91],
        [105, 104],
      ]),
      cellOf("cand", [
        [100, 102],
        [95, 96],
        [108, 107],
        [99, 100],
      ]),
    ]);
    const icc = report.comparisons[0]?.baseline.icc ?? 0;
    expect(icc).to.be.above(0.95);
    expect(report.comparisons[0]?.baseline.boots).to.equal(4);
    expect(report.comparisons[0]?.baseline.n).to.equal(8);
  });

  it("gates: a regression fails only with its whole CI beyond the limit; an improvement passes only with its whole CI beyond PCT", () => {
    const slow = buildComparison([baseline(TEN), candidate(TEN.map((v) => v * 1.3))]);
    expect(applyGates(slow, { failOnRegressionPct: 5 }).status).to.equal("failed");
    expect(applyGates(slow, { failOnRegressionPct: 40 }).status).to.equal("passed");
    const straddles = applyGates(slow, { failOnRegressionPct: 30 });
    expect(straddles.status).to.equal("undecided");
    expect(straddles.undecided.get(0)).to.match(/does not rule out a regression beyond 30 %/);
    const fast = buildComparison([baseline(TEN), candidate(TEN.map((v) => v * 0.5))]);
    expect(
      applyGates(fast, { expectImprovement: [{ metric: "task-clock", pct: 40 }] }).status,
    ).to.equal("passed");
    const short = applyGates(fast, { expectImprovement: [{ metric: "task-clock", pct: 60 }] });
    expect(short.status).to.equal("failed");
    expect(short.failures.get(0)).to.match(
      /expected to improve by at least 60 %; the 95 % CI of the improvement is \[4\d\.\d %, 5\d\.\d %\]/,
    );
  });
});
