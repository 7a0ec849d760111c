import { expect } from "chai";
import { buildSeries } from "../../../src/core/history/history-series.js";
import {
  DEFAULT_ANALYSIS_OPTIONS,
  analyzeSeries,
} from "../../../src/core/history/series-analysis.js";
import { analyze, synthetic } from "./fixtures.js";

describe("history series analysis", () => {
  it("reports each change with night, date, levels, delta, p and direction", () => {
    const list = synthetic(9, 80, [{ kind: "step", night: 50, relative: 0.1 }]);
    const [change, ...rest] = analyze(list)[0]!.changes;
    expect(rest).to.have.length(0);
    expect(change!.index).to.equal(50);
    expect(change!.date).to.equal(list[50]!.date);
    expect(change!.sourceRun).to.equal("synthetic-050");
    expect(change!.buildBefore).to.equal("c0ffee49");
    expect(change!.buildAfter).to.equal("c0ffee50");
    expect(change!.before.nights).to.equal(50);
    expect(change!.after.nights).to.equal(30);
    expect(change!.deltaPercent).to.be.closeTo(10, 2.5);
    expect(change!.p).to.be.below(1e-6);
    expect(change!.direction).to.equal("regression");
    const higherBetter = buildSeries(list).map((s) =>
      analyzeSeries(s, { ...DEFAULT_ANALYSIS_OPTIONS, higherIsBetter: ["task-clock"] }),
    );
    expect(higherBetter[0]!.changes[0]!.direction).to.equal("improvement");
  });
});
