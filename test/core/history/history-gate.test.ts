import { expect } from "chai";
import { DEFAULT_GATE_OPTIONS, gateHistory } from "../../../src/core/history/history-gate.js";
import { DEFAULT_ANALYSIS_OPTIONS } from "../../../src/core/history/series-analysis.js";
import { analyze, synthetic } from "./fixtures.js";

describe("history gate (new change points of the latest night)", () => {
  it("fails the gate on a regression the latest night brought, once", () => {
    const list = synthetic(10, 75, [{ kind: "step", night: 60, relative: 0.1 }]);
    // Find the first night whose history shows the step, as the nightly job would.
    let first = -1;
    for (let n = 60; n <= 75 && first < 0; n++) {
      if (analyze(list.slice(0, n))[0]!.changes.some((c) => Math.abs(c.index - 60) <= 2)) first = n;
    }
    expect(first).to.be.within(61, 66);
    const before = gateHistory(analyze(list.slice(0, first - 1)));
    expect(before.failed).to.equal(false);
    const gate = gateHistory(analyze(list.slice(0, first)));
    expect(gate.failed).to.equal(true);
    expect(gate.nights).to.deep.equal([list[first - 1]!.date.slice(0, 10)]);
    expect(gate.regressions.map((c) => c.index)).to.deep.equal([60]);
    // The next night the change is known: nothing new, the gate passes.
    const next = gateHistory(analyze(list.slice(0, first + 1)));
    expect(next.failed).to.equal(false);
    expect(next.newChanges).to.deep.equal([]);
    // ... unless it looks at the last two nights.
    const two = gateHistory(analyze(list.slice(0, first + 1)), DEFAULT_ANALYSIS_OPTIONS, {
      ...DEFAULT_GATE_OPTIONS,
      lastNights: 2,
    });
    expect(two.failed).to.equal(true);
  });

  it("passes the gate on an improvement and on a regression under the threshold", () => {
    const list = synthetic(12, 80, [{ kind: "step", night: 50, relative: -0.1 }]);
    for (let n = 52; n <= 80; n++) {
      expect(gateHistory(analyze(list.slice(0, n))).failed, `night ${n}`).to.equal(false);
    }
    const up = synthetic(12, 80, [{ kind: "step", night: 50, relative: 0.1 }]);
    const fired = [];
    for (let n = 52; n <= 80; n++) {
      const gate = gateHistory(analyze(up.slice(0, n)), DEFAULT_ANALYSIS_OPTIONS, {
        ...DEFAULT_GATE_OPTIONS,
        thresholdPercent: 50,
      });
      if (gate.newChanges.length > 0) fired.push(gate.failed);
    }
    expect(fired).to.deep.equal([false]);
  });

  it("never fails the gate on a fingerprint break", () => {
    const list = synthetic(13, 80, [{ kind: "fingerprint", night: 50, relative: 0.2 }]);
    for (let n = 40; n <= 80; n++) {
      expect(gateHistory(analyze(list.slice(0, n))).failed, `night ${n}`).to.equal(false);
    }
  });
});
