/**
 * What `history changes` prints: text for people, JSON for machines, and Markdown for the
 * nightly workflow's step summary (the changes the last night brought). Pure.
 */
import type { DetectorOptions } from "./change-points.js";
import { nightOf, type GateResult } from "./history-gate.js";
import { type HistoryChange, type SeriesAnalysis } from "./series-analysis.js";

export interface ChangesReport {
  readonly store: string;
  readonly detector: DetectorOptions;
  readonly higherIsBetter: readonly string[];
  readonly analyses: readonly SeriesAnalysis[];
  readonly gate: GateResult;
  /** Whether --fail-on-regression was given (the gate decides the exit code). */
  readonly gating: boolean;
  readonly notes: readonly string[];
}

function fmt(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1000) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toPrecision(3);
}

function fmtP(p: number): string {
  return p < 0.0001 ? p.toExponential(1) : p.toFixed(4);
}

function signed(percent: number): string {
  return `${percent >= 0 ? "+" : ""}${percent.toFixed(1)} %`;
}

function build(change: HistoryChange): string {
  if (change.buildBefore === null && change.buildAfter === null) return "";
  const short = (b: string | null): string => (b === null ? "?" : b.slice(0, 12));
  return change.buildBefore === change.buildAfter
    ? ` (same build ${short(change.buildAfter)})`
    : ` (build ${short(change.buildBefore)} → ${short(change.buildAfter)})`;
}

function changeLine(change: HistoryChange): string {
  return (
    `  change  night ${change.index}  ${nightOf(change.date)}  ${fmt(change.before.mean)} → ${fmt(change.after.mean)}  ` +
    `${signed(change.deltaPercent)}  p=${fmtP(change.p)}  ${change.direction}${build(change)}`
  );
}

function describeDetector(d: DetectorOptions, higherIsBetter: readonly string[]): string {
  const test =
    d.test === "student-nights" ? "Student's t on nightly means" : "Welch's t on every boot";
  const better =
    higherIsBetter.length === 0
      ? "lower is better for every metric"
      : `higher is better for ${higherIsBetter.join(", ")}, lower for the rest`;
  return (
    `detector: e-divisive with Hunter's t-test (windows of ${d.windowLength} nights, ${test}), ` +
    `p < ${d.maxPValue}, magnitude > ${d.minMagnitude * 100} %, at least ${d.minSegment} nights per side; ${better}`
  );
}

function gateLine(gate: GateResult, gating: boolean): string {
  const o = gate.options;
  const nights = gate.nights.length === 0 ? "no nights" : gate.nights.join(", ");
  const since = o.lastNights === 1 ? "the latest night" : `the last ${o.lastNights} nights`;
  if (!gating) {
    return `new on ${since} (${nights}): ${gate.newChanges.length} change point(s), ${gate.regressions.length} of them a regression of at least ${o.thresholdPercent} % (no gate: --fail-on-regression not given)`;
  }
  const head = `gate (change points new on ${since} (${nights}), regressions of at least ${o.thresholdPercent} %)`;
  if (gate.failed) {
    return `${head}: FAIL, ${gate.regressions.length} new regression(s)`;
  }
  return `${head}: pass, ${gate.newChanges.length} new change point(s), none a regression at or above the threshold`;
}

export function formatChangesText(report: ChangesReport): string {
  const lines: string[] = [];
  const nights = report.analyses.flatMap((a) => a.series.records.map((r) => nightOf(r.date)));
  const sorted = [...nights].sort();
  lines.push(
    `history ${report.store}: ${report.analyses.length} series, ${new Set(nights).size} nights` +
      (sorted.length === 0 ? "" : ` (${sorted[0]} … ${sorted[sorted.length - 1]})`),
  );
  lines.push(describeDetector(report.detector, report.higherIsBetter));
  for (const note of report.notes) lines.push(`note: ${note}`);
  for (const analysis of report.analyses) {
    const s = analysis.series;
    lines.push("");
    lines.push(
      `${s.id}  (${s.records.length} night${s.records.length === 1 ? "" : "s"}${s.splits.length === 0 ? "" : `, ${s.splits.length} split(s)`})`,
    );
    const events = [
      ...s.splits.map((split) => ({
        index: split.index,
        line: `  split   night ${split.index}  ${nightOf(split.date)}  ${split.reason} (a new segment, not a performance change)`,
      })),
      ...analysis.changes.map((c) => ({ index: c.index, line: changeLine(c) })),
    ].sort((a, b) => a.index - b.index);
    if (events.length === 0) lines.push("  no change points");
    for (const event of events) lines.push(event.line);
  }
  lines.push("");
  lines.push(gateLine(report.gate, report.gating));
  for (const c of report.gate.regressions) lines.push(`  ${c.series}:${changeLine(c).slice(1)}`);
  return `${lines.join("\n")}\n`;
}

/** How each change was found and tested, named with every change (JSON, Markdown). */
export function methodOf(d: DetectorOptions): string {
  const test =
    d.test === "student-nights"
      ? "Student's t-test on the nightly means (two-sided)"
      : "Welch's t-test on the boot means (two-sided)";
  return `e-divisive change point, ${test}`;
}

function changeJson(c: HistoryChange, method: string) {
  return {
    series: c.series,
    method,
    ...c.key,
    index: c.index,
    date: c.date,
    sourceRun: c.sourceRun,
    buildBefore: c.buildBefore,
    buildAfter: c.buildAfter,
    before: c.before,
    after: c.after,
    deltaPercent: c.deltaPercent,
    p: c.p,
    direction: c.direction,
  };
}

export function changesJson(report: ChangesReport): unknown {
  const method = methodOf(report.detector);
  return {
    schema: 1,
    store: report.store,
    detector: report.detector,
    higherIsBetter: report.higherIsBetter,
    notes: report.notes,
    series: report.analyses.map((a) => ({
      id: a.series.id,
      ...a.series.key,
      nights: a.series.records.length,
      firstDate: a.series.records[0]?.date ?? null,
      lastDate: a.series.records[a.series.records.length - 1]?.date ?? null,
      splits: a.series.splits,
      changes: a.changes.map((c) => changeJson(c, method)),
    })),
    gate: {
      ...report.gate.options,
      nights: report.gate.nights,
      gating: report.gating,
      failed: report.gating && report.gate.failed,
      newChanges: report.gate.newChanges.map((c) => changeJson(c, method)),
      regressions: report.gate.regressions.map((c) => changeJson(c, method)),
    },
  };
}

function mdEscape(text: string): string {
  return text.replaceAll("|", "\\|");
}

/** For $GITHUB_STEP_SUMMARY: the change points the last night(s) brought, and the verdict. */
export function formatChangesMarkdown(report: ChangesReport): string {
  const gate = report.gate;
  const lines = [`### History: change points new since the last night`, ""];
  if (gate.newChanges.length === 0) {
    lines.push(`No new change points in ${report.analyses.length} series.`);
  } else {
    lines.push(`| series | night | date | before → after | delta | p | direction |`);
    lines.push(`| --- | ---: | --- | ---: | ---: | ---: | --- |`);
    for (const c of gate.newChanges) {
      const flag = gate.regressions.includes(c) ? " ❌" : "";
      lines.push(
        `| ${mdEscape(c.series)} | ${c.index} | ${nightOf(c.date)} | ${fmt(c.before.mean)} → ${fmt(c.after.mean)} | ${signed(c.deltaPercent)} | ${fmtP(c.p)} | ${c.direction}${flag} |`,
      );
    }
  }
  const splits = report.analyses.flatMap((a) =>
    a.series.splits
      .filter((s) => gate.nights.includes(nightOf(s.date)))
      .map((s) => `- ${mdEscape(a.series.id)}: split at night ${s.index}: ${mdEscape(s.reason)}`),
  );
  if (splits.length > 0) lines.push("", "New segments (not performance changes):", ...splits);
  const d = report.detector;
  lines.push(
    "",
    `Method: ${methodOf(d)}; p < ${d.maxPValue}, change > ${d.minMagnitude * 100} %, windows of ${d.windowLength} nights.`,
  );
  lines.push("", gateLine(gate, report.gating).replace(/^gate/, "Gate").replace(/^new/, "New"));
  return `${lines.join("\n")}\n`;
}
