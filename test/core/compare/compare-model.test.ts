import { fileURLToPath } from "node:url";
import { expect } from "chai";
import {
  buildComparison,
  parseBaselineSelector,
  type CellData,
} from "../../../src/core/compare/compare-model.js";
import { applyGates } from "../../../src/core/compare/gates.js";
import { withVmstatMetrics } from "../../../src/core/compare/vmstat-metrics.js";
import { loadCells } from "../../../src/experiment/load-cells.js";
import { renderJson } from "../../../src/core/compare/render-json.js";
import { renderJunit } from "../../../src/core/compare/render-junit.js";
import { renderHtml } from "../../../src/core/compare/render-html.js";
import { renderLetter, LETTER_WIDTH } from "../../../src/core/compare/render-letter.js";
import { renderMarkdown, renderText } from "../../../src/core/compare/render-table.js";
import { UsageError } from "../../../src/core/errors.js";
import { calibrationFromCells } from "../../../src/core/compare/calibration.js";
import { noiseFloor } from "../../../src/core/stats/noise-floor.js";
import { summarizeBoots } from "../../../src/core/stats/boot-level.js";
import { bootValues } from "../../../src/core/compare/cell-metrics.js";

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../fixtures/results/${name}`, import.meta.url));

const thp = async (): Promise<CellData[]> =>
  withVmstatMetrics(await loadCells([fixture("thp-boots")]), ["pgfault"]);

describe("compare (recorded runs, the boot as the unit)", () => {
  it("finds the known large effect: THP never raises the fault count ~9x, a regression against always", async () => {
    const report = buildComparison(await thp());
    expect(report.baseline).to.deep.equal({ key: "kernel", value: "thp-always" });
    const faults = report.comparisons.find((c) => c.metric === "vmstat.pgfault");
    expect(faults?.baseline.boots).to.equal(5);
    expect(faults?.deltaPct).to.be.within(800, 900);
    expect(faults?.verdict).to.equal("regression");
    expect(faults?.deltaCi95?.[0]).to.be.above(800);
    // Under TCG and a loaded host, time is noise: no verdict is invented for it.
    const time = report.comparisons.find((c) => c.metric === "task-clock");
    expect(time?.verdict).to.equal("inconclusive");
    expect(time?.bootsNeeded).to.be.a("number");
  });

  it("turns round with --baseline: huge pages are an improvement, and the gates say by how much", async () => {
    const report = buildComparison(await thp(), {
      baseline: parseBaselineSelector("kernel=thp-never"),
    });
    const faults = report.comparisons.findIndex((c) => c.metric === "vmstat.pgfault");
    expect(report.comparisons[faults]?.verdict).to.equal("improvement");
    expect(report.comparisons[faults]?.deltaPct).to.be.within(-90, -88);
    const met = applyGates(report, { expectImprovement: [{ metric: "vmstat.pgfault", pct: 85 }] });
    expect(met.status).to.equal("passed");
    const missed = applyGates(report, {
      expectImprovement: [{ metric: "vmstat.pgfault", pct: 95 }],
    });
    expect(missed.status).to.equal("failed");
    expect(missed.failures.get(faults)).to.match(
      /expected to improve by at least 95 %; the 95 % CI of the improvement is \[89\.\d %, 89\.\d %\]/,
    );
    expect(() =>
      applyGates(report, { expectImprovement: [{ metric: "cycles", pct: 5 }] }),
    ).to.throw(UsageError, "no comparison has");
  });

  it("does not flag an A/A experiment; the exact fault counts are 'no change'", async () => {
    const report = buildComparison(
      withVmstatMetrics(await loadCells([fixture("a-a-boots")]), ["pgfault"]),
    );
    expect(report.comparisons.map((c) => [c.metric, c.verdict])).to.deep.equal([
      ["task-clock", "inconclusive"],
      ["vmstat.pgfault", "no change"],
    ]);
    expect(applyGates(report, { failOnRegressionPct: 5 }).status).to.equal("undecided");
  });

  it("shows how much boots matter: the intra-boot correlation of recorded timings", async () => {
    const report = buildComparison(await loadCells([fixture("init-on-alloc-boots")]));
    const [c] = report.comparisons;
    expect(c?.baseline.icc).to.be.above(0.5);
    expect(c?.baseline.n).to.equal(10);
    expect(c?.baseline.boots).to.equal(5);
  });

  it("reads the first version's results (one boot per cell) and says a verdict needs more boots", async () => {
    const report = buildComparison(await loadCells([fixture("init-on-alloc")]));
    expect(report.comparisons.map((c) => [c.metric, c.verdict, c.reason])).to.deep.equal([
      ["task-clock", "insufficient data", "1 boot per side; a verdict needs at least 4"],
    ]);
    expect(report.unsupported.map((u) => `${u.label}:${u.metric}`)).to.deep.equal([
      "ioa/bits-5:instructions",
      "ioa/bits-5:cache-misses",
      "noioa/bits-5:instructions",
      "noioa/bits-5:cache-misses",
    ]);
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

  it("flags iterations the watchdog saw stall (QEMU unresponsive), on the side they ran", async () => {
    const [a, b] = await loadCells([fixture("a-a")]);
    if (a === undefined || b === undefined) throw new Error("fixture");
    const stalled: CellData = {
      ...b,
      samples: b.samples.map((s, i) =>
        i === 0
          ? {
              ...s,
              telemetry: {
                ...(s.telemetry ?? {
                  rssBeforeBytes: 0,
                  rssAfterBytes: 0,
                  balloonActualBytes: 0,
                  vmstatDeltas: {},
                }),
                stall: { totalMs: 26_000, longestMs: 25_400 },
              },
            }
          : s,
      ),
    };
    expect(stalled.samples[0]?.telemetry?.stall).not.to.equal(undefined);
    const flags = buildComparison([a, stalled]).comparisons[0]?.flags ?? [];
    expect(flags).to.include(
      `${b.kernel}/${b.config} (${b.workload}): 1 iteration(s) stalled (QEMU unresponsive up to 25 s); their times include the stall`,
    );
    expect(
      buildComparison([a, b]).comparisons[0]?.flags.some((f) => f.includes("stalled")),
    ).to.equal(false);
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

describe("calibration (A/A noise floor, from boot means)", () => {
  it("computes the noise floor of the recorded A/A pair at boot level and shows it next to deltas", async () => {
    const cells = await loadCells([fixture("a-a-boots")]);
    const calibration = calibrationFromCells(cells);
    expect(calibration.unit).to.equal("boot");
    expect(
      calibration.entries.map((e) => [e.workload, e.metric, e.boots, e.iterations]),
    ).to.deep.equal([["alloc_once-128M", "task-clock", 5, 20]]);
    const [entry] = calibration.entries;
    const [a, b] = cells.map((cell) => summarizeBoots(bootValues(cell, "task-clock")).bootMeans);
    expect(entry?.minDetectablePct).to.be.closeTo(
      noiseFloor(a ?? [], b ?? []).minDetectablePct,
      1e-9,
    );
    expect(entry?.icc).to.be.a("number");
    const report = buildComparison(await loadCells([fixture("init-on-alloc-boots")]), {
      noiseFloors: calibration.entries,
    });
    expect(report.comparisons[0]?.noiseFloorPct).to.equal(entry?.minDetectablePct);
    expect(renderText(report)).to.match(
      /noise floor of task-clock \(A\/A calibration\): deltas under ±\d+\.\d% are not reliably detectable/,
    );
  });

  it("needs exactly two cells", async () => {
    const cells = await loadCells([fixture("a-a-boots")]);
    expect(() => calibrationFromCells(cells.slice(0, 1))).to.throw(UsageError, "exactly two cells");
  });
});

describe("compare renderers", () => {
  it("JSON has the documented shape, with no NaN", async () => {
    const report = buildComparison(await thp());
    const text = renderJson(report, applyGates(report, { failOnRegressionPct: 5 }));
    expect(text).not.to.match(/NaN|Infinity/);
    const json = JSON.parse(text) as { comparisons: Record<string, unknown>[]; gates: string };
    expect(Object.keys(json)).to.deep.equal([
      "schema",
      "baseline",
      "alpha",
      "minEffectPct",
      "correction",
      "method",
      "comparisons",
      "unsupported",
      "dropped",
      "environment",
      "gates",
      "passed",
    ]);
    expect(json.gates).to.equal("failed");
    expect(Object.keys(json.comparisons[0] ?? {})).to.deep.equal([
      "workload",
      "metric",
      "unit",
      "direction",
      "baseline",
      "candidate",
      "method",
      "deltaPct",
      "deltaCi95",
      "difference",
      "pWelch",
      "pMannWhitney",
      "mannWhitneyMethod",
      "pAdjusted",
      "verdict",
      "reason",
      "bootsNeeded",
      "flags",
      "dropped",
      "noiseFloorPct",
      "gate",
    ]);
    expect(Object.keys(json.comparisons[0]?.["baseline"] as object)).to.deep.equal([
      "label",
      "boots",
      "n",
      "mean",
      "sd",
      "sdBoots",
      "ci95",
      "cov",
      "median",
      "min",
      "max",
      "icc",
    ]);
  });

  it("JUnit has one test case per comparison, fails what a gate fails, skips what it cannot decide", async () => {
    const report = buildComparison(await thp());
    const xml = renderJunit(report, applyGates(report, { failOnRegressionPct: 5 }));
    expect(xml.match(/<testcase /g)).to.have.length(2);
    expect(xml).to.match(
      /<failure message="vmstat.pgfault \(alloc_once-64M, thp-never\/bits-5 vs thp-always\/bits-5\) regressed by 8\d\d\.\d % to/,
    );
    expect(xml).to.match(/<skipped\/>/);
  });

  it("text and Markdown carry the cover letter's columns plus boots, CI, p-values and verdict", async () => {
    const report = buildComparison(await thp());
    const text = renderText(report);
    expect(text).to.match(
      /^ {2}metric +baseline +candidate +delta +95% CI of delta +p Welch +p MW +p Holm +verdict$/m,
    );
    expect(text).to.match(
      /^ {2}vmstat\.pgfault +1\.90K ± \d \(n=5, 5 boots\) +17\.7K ± \d \(n=5, 5 boots\) +\+8\d\d\.\d% .* regression$/m,
    );
    expect(text).to.contain("Method: boot means (the boot is the unit)");
    const md = renderMarkdown(report);
    expect(md).to.contain(
      "| metric | baseline | candidate | delta | 95% CI of delta | p Welch | p MW | p Holm | verdict |",
    );
    expect(md).to.match(/^\| vmstat\.pgfault \| 1\.90K ± \d \(n=5, 5 boots\) \|/m);
  });

  it("the letter format is the cover letter's table: ASCII, 72 columns, mean +- sd", async () => {
    const report = buildComparison(await thp(), {
      baseline: parseBaselineSelector("kernel=thp-never"),
    });
    const letter = renderLetter(report);
    expect(letter).to.match(/^[\x20-\x7e\n]+$/);
    for (const line of letter.split("\n")) expect(line.length, line).to.be.at.most(LETTER_WIDTH);
    expect(letter).to.match(/^ {2}metric +baseline +optimized +delta$/m);
    expect(letter).to.match(/^ {2}vmstat\.pgfault +17\.7K \+- \d\.\d +1\.90K \+- \d\.\d +-89%$/m);
    expect(letter).to.match(/^ {2}task-clock +\d+ \+- \d+ ms +\d+ \+- \d+ ms +[+-]\d+%$/m);
  });

  it("HTML is one self-contained file with a dot per sample", async () => {
    const report = buildComparison(await thp());
    const html = renderHtml(report);
    expect(html.match(/<circle class="sample"/g)).to.have.length(20);
    expect(html).not.to.match(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
});
