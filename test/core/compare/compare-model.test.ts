import { fileURLToPath } from "node:url";
import { expect } from "chai";
import {
  applyGates,
  buildComparison,
  parseBaselineSelector,
  type CellData,
} from "../../../src/core/compare/compare-model.js";
import { loadCells } from "../../../src/experiment/load-cells.js";
import { renderJson } from "../../../src/core/compare/render-json.js";
import { renderJunit } from "../../../src/core/compare/render-junit.js";
import { renderHtml } from "../../../src/core/compare/render-html.js";
import { renderMarkdown, renderText } from "../../../src/core/compare/render-table.js";
import { describe as describeValues } from "../../../src/core/stats/descriptive.js";
import { UsageError } from "../../../src/core/errors.js";
import { calibrationFromCells } from "../../../src/core/compare/calibration.js";
import { noiseFloor } from "../../../src/core/stats/noise-floor.js";

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../fixtures/results/${name}`, import.meta.url));

function taskClock(cell: CellData | undefined): number[] {
  return (cell?.samples ?? []).map((s) => s.counters["task-clock"]?.value ?? NaN);
}

describe("compare (recorded real runs)", () => {
  it("finds the known large effect: init_on_alloc=0 cuts task-clock, significantly", async () => {
    const cells = await loadCells([fixture("init-on-alloc")]);
    const report = buildComparison(cells);
    expect(report.baseline).to.deep.equal({ key: "kernel", value: "ioa" });
    expect(report.comparisons).to.have.length(1);
    const [c] = report.comparisons;
    const base = describeValues(taskClock(cells[0]));
    const cand = describeValues(taskClock(cells[1]));
    expect(c?.metric).to.equal("task-clock");
    expect(c?.deltaPct).to.be.closeTo((100 * (cand.mean - base.mean)) / base.mean, 1e-9);
    expect(c?.deltaPct).to.be.below(-30);
    expect(c?.verdict).to.equal("improvement");
    expect(c?.pAdjusted).to.equal(c?.pWelch);
    expect(c?.deltaCi95[1]).to.be.below(0);
    expect(report.unsupported.map((u) => `${u.label}:${u.metric}`)).to.deep.equal([
      "ioa/bits-5:instructions",
      "ioa/bits-5:cache-misses",
      "noioa/bits-5:instructions",
      "noioa/bits-5:cache-misses",
    ]);
  });

  it("reports no significant change for an A/A experiment", async () => {
    const report = buildComparison(await loadCells([fixture("a-a")]));
    expect(report.comparisons.map((c) => c.verdict)).to.deep.equal(["no significant change"]);
  });

  it("turns the comparison round with --baseline: now a regression", async () => {
    const report = buildComparison(await loadCells([fixture("init-on-alloc")]), {
      baseline: parseBaselineSelector("kernel=noioa"),
    });
    expect(report.comparisons[0]?.verdict).to.equal("regression");
    expect(report.comparisons[0]?.deltaPct).to.be.above(30);
  });

  it("gates: expected improvement met or missed, regression beyond a threshold", async () => {
    const cells = await loadCells([fixture("init-on-alloc")]);
    const report = buildComparison(cells);
    expect(
      applyGates(report, { expectImprovement: [{ metric: "task-clock", pct: 30 }] }).passed,
    ).to.equal(true);
    const missed = applyGates(report, { expectImprovement: [{ metric: "task-clock", pct: 78 }] });
    expect(missed.passed).to.equal(false);
    expect(missed.failures.get(0)).to.match(
      /^task-clock was expected to improve by at least 78 %, got 4\d\.\d % \(improvement, p\(Holm\) /,
    );
    const reversed = buildComparison(cells, { baseline: parseBaselineSelector("kernel=noioa") });
    expect(applyGates(reversed, { failOnRegressionPct: 5 }).passed).to.equal(false);
    expect(applyGates(reversed, { failOnRegressionPct: 500 }).passed).to.equal(true);
    expect(() =>
      applyGates(report, { expectImprovement: [{ metric: "cycles", pct: 5 }] }),
    ).to.throw(UsageError, "no comparison has");
  });

  it("flags unnegotiated bits and differing environments, and refuses mixed accelerators unless forced", async () => {
    const [a, b] = await loadCells([fixture("a-a")]);
    if (a === undefined || b === undefined) throw new Error("fixture");
    const kvm: CellData = {
      ...b,
      environment: { ...b.environment, accelerator: "kvm" },
      unnegotiatedBits: [6],
    };
    expect(() => buildComparison([a, kvm])).to.throw(UsageError, "different accelerators");
    const forced = buildComparison([a, kvm], { force: true });
    expect(forced.comparisons[0]?.flags).to.deep.equal([
      "accelerator differs: tcg vs kvm",
      "bit 6 requested and offered, but kernel b did not negotiate it",
    ]);
  });

  it("refuses unusable input with what to do", async () => {
    expect(() => buildComparison([])).to.throw(UsageError, "nothing to compare");
    const cells = await loadCells([fixture("a-a")]);
    expect(() =>
      buildComparison(cells, { baseline: parseBaselineSelector("kernel=zzz") }),
    ).to.throw(UsageError, "matches no cell");
    expect(() => buildComparison(cells.slice(0, 1))).to.throw(UsageError, "nothing to compare");
    expect(() => parseBaselineSelector("stock")).to.throw(UsageError, "malformed --baseline");
  });
});

describe("calibration (A/A noise floor)", () => {
  it("computes the noise floor of the recorded A/A pair and shows it next to deltas of the same workload", async () => {
    const calibration = calibrationFromCells(await loadCells([fixture("a-a")]));
    expect(calibration.entries.map((e) => [e.workload, e.metric, e.n])).to.deep.equal([
      ["alloc_once-128M", "task-clock", 6],
    ]);
    const [entry] = calibration.entries;
    const [a, b] = (await loadCells([fixture("a-a")])).map(taskClock);
    expect(entry?.minDetectablePct).to.be.closeTo(
      noiseFloor(a ?? [], b ?? []).minDetectablePct,
      1e-9,
    );
    const report = buildComparison(await loadCells([fixture("init-on-alloc")]), {
      noiseFloors: calibration.entries,
    });
    expect(report.comparisons[0]?.noiseFloorPct).to.equal(entry?.minDetectablePct);
    expect(renderText(report)).to.match(
      /noise floor of task-clock \(A\/A calibration\): deltas under ±\d+\.\d% are not reliably detectable/,
    );
  });

  it("needs exactly two cells", async () => {
    const cells = await loadCells([fixture("a-a")]);
    expect(() => calibrationFromCells(cells.slice(0, 1))).to.throw(UsageError, "exactly two cells");
  });
});

describe("compare renderers", () => {
  it("JSON has the documented shape", async () => {
    const report = buildComparison(await loadCells([fixture("init-on-alloc")]));
    const json = JSON.parse(renderJson(report, applyGates(report, {}))) as {
      comparisons: Record<string, unknown>[];
      passed: boolean;
    };
    expect(Object.keys(json)).to.deep.equal([
      "schema",
      "baseline",
      "alpha",
      "correction",
      "comparisons",
      "unsupported",
      "environment",
      "passed",
    ]);
    expect(Object.keys(json.comparisons[0] ?? {})).to.deep.equal([
      "workload",
      "metric",
      "unit",
      "direction",
      "baseline",
      "candidate",
      "deltaPct",
      "deltaCi95",
      "pWelch",
      "pMannWhitney",
      "mannWhitneyMethod",
      "pAdjusted",
      "verdict",
      "flags",
      "noiseFloorPct",
      "gate",
    ]);
    expect(Object.keys(json.comparisons[0]?.["baseline"] as object)).to.deep.equal([
      "label",
      "n",
      "mean",
      "sd",
      "ci95",
    ]);
  });

  it("JUnit has one test case per comparison and fails the one a gate fails", async () => {
    const report = buildComparison(await loadCells([fixture("init-on-alloc")]));
    const passing = renderJunit(
      report,
      applyGates(report, { expectImprovement: [{ metric: "task-clock", pct: 30 }] }),
    );
    expect(passing.match(/<testcase /g)).to.have.length(1);
    expect(passing).not.to.contain("<failure");
    const failing = renderJunit(
      report,
      applyGates(report, { expectImprovement: [{ metric: "task-clock", pct: 90 }] }),
    );
    expect(failing).to.match(
      /<failure message="task-clock was expected to improve by at least 90 %/,
    );
  });

  it("text and Markdown carry the cover letter's columns plus CI, p-values and verdict", async () => {
    const report = buildComparison(await loadCells([fixture("init-on-alloc")]));
    const text = renderText(report);
    expect(text).to.match(
      /^ {2}metric {6}baseline {16}candidate {15}delta {3}95% CI of delta {3}p Welch {2}p MW {4}p Holm {3}verdict$/m,
    );
    expect(text).to.match(
      /^ {2}task-clock {2}1315 ms ± 129 ms \(n=5\) {2}781 ms ± 82\.7 ms \(n=5\) {2}-40\.6% .* improvement$/m,
    );
    expect(text).to.contain(
      "instructions on ioa/bits-5: not supported (perf printed <not supported>)",
    );
    const md = renderMarkdown(report);
    expect(md).to.contain(
      "| metric | baseline | candidate | delta | 95% CI of delta | p Welch | p MW | p Holm | verdict |",
    );
    expect(md).to.match(
      /^\| task-clock \| 1315 ms ± 129 ms \(n=5\) \| 781 ms ± 82\.7 ms \(n=5\) \| -40\.6% \|/m,
    );
  });

  it("HTML is one self-contained file with a dot per sample", async () => {
    const report = buildComparison(await loadCells([fixture("init-on-alloc")]));
    const html = renderHtml(report);
    expect(html.match(/<circle class="sample"/g)).to.have.length(10);
    expect(html).not.to.match(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
});
