import { formatQuantity } from "../results-format/summary.js";
import {
  formatP,
  type Comparison,
  type ComparisonReport,
  type GateResult,
} from "./compare-model.js";

const HEADER = [
  "metric",
  "baseline",
  "candidate",
  "delta",
  "95% CI of delta",
  "p Welch",
  "p MW",
  "p Holm",
  "verdict",
];

function meanSd(side: Comparison["baseline"], unit: string): string {
  return `${formatQuantity(side.mean, unit)} ± ${formatQuantity(side.sd, unit)} (n=${side.n})`;
}

function pct(value: number): string {
  return Number.isNaN(value) ? "n/a" : `${value > 0 ? "+" : ""}${value.toFixed(1)}%`;
}

function row(c: Comparison, gateFailure: string | undefined): string[] {
  return [
    c.metric,
    meanSd(c.baseline, c.unit),
    meanSd(c.candidate, c.unit),
    pct(c.deltaPct),
    Number.isNaN(c.deltaCi95[0]) ? "n/a" : `[${pct(c.deltaCi95[0])}, ${pct(c.deltaCi95[1])}]`,
    formatP(c.pWelch),
    formatP(c.pMannWhitney),
    formatP(c.pAdjusted),
    gateFailure === undefined ? c.verdict : `${c.verdict} (GATE FAILED)`,
  ];
}

/** Groups comparisons by workload and candidate, in report order. */
function groups(
  report: ComparisonReport,
): { title: string; entries: { c: Comparison; index: number }[] }[] {
  const result: { title: string; entries: { c: Comparison; index: number }[] }[] = [];
  report.comparisons.forEach((c, index) => {
    const title = `${c.workload}: ${c.candidate.label} vs ${c.baseline.label}`;
    let group = result.find((g) => g.title === title);
    if (group === undefined) {
      group = { title, entries: [] };
      result.push(group);
    }
    group.entries.push({ c, index });
  });
  return result;
}

function notes(report: ComparisonReport, workload: string, labels: string[]): string[] {
  const lines: string[] = [];
  for (const u of report.unsupported) {
    if (u.workload === workload && labels.includes(u.label))
      lines.push(`${u.metric} on ${u.label}: ${u.reason}`);
  }
  return lines;
}

function noiseNotes(comparisons: readonly Comparison[]): string[] {
  return comparisons
    .filter((c) => c.noiseFloorPct !== null)
    .map(
      (c) =>
        `noise floor of ${c.metric} (A/A calibration): deltas under ±${(c.noiseFloorPct ?? 0).toFixed(1)}% are not reliably detectable`,
    );
}

function footer(report: ComparisonReport): string {
  return `Verdicts: Welch's t-test, p-values adjusted with Holm's method across all ${report.comparisons.length} comparisons, alpha ${report.alpha}; lower is better unless configured. Delta CI: 95 % CI of the difference of means (Welch), relative to the baseline mean.`;
}

/** The cover letter's table per workload, plus CI, p-values and verdict columns. */
export function renderText(report: ComparisonReport, gates?: GateResult): string {
  const out: string[] = [`baseline: ${report.baseline.key}=${report.baseline.value}`];
  for (const group of groups(report)) {
    const rows = [
      HEADER,
      ...group.entries.map(({ c, index }) => row(c, gates?.failures.get(index))),
    ];
    const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
    out.push("", group.title);
    for (const r of rows)
      out.push(
        `  ${r
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join("  ")
          .trimEnd()}`,
      );
    const first = group.entries[0]?.c;
    if (first !== undefined) {
      for (const note of notes(report, first.workload, [
        first.baseline.label,
        first.candidate.label,
      ]))
        out.push(`  ${note}`);
    }
    const flags = [...new Set(group.entries.flatMap(({ c }) => c.flags))];
    for (const flag of flags) out.push(`  flag: ${flag}`);
    for (const line of noiseNotes(group.entries.map(({ c }) => c))) out.push(`  ${line}`);
    for (const { index } of group.entries) {
      const failure = gates?.failures.get(index);
      if (failure !== undefined) out.push(`  gate: ${failure}`);
    }
  }
  out.push("", footer(report));
  return out.join("\n");
}

/** The same tables in Markdown, for a cover letter, a PR comment or $GITHUB_STEP_SUMMARY. */
export function renderMarkdown(report: ComparisonReport, gates?: GateResult): string {
  const escape = (s: string): string => s.replaceAll("|", "\\|");
  const out: string[] = [
    `## balloon-bench comparison (baseline: \`${report.baseline.key}=${report.baseline.value}\`)`,
  ];
  for (const group of groups(report)) {
    out.push(
      "",
      `### ${escape(group.title)}`,
      "",
      `| ${HEADER.join(" | ")} |`,
      `|${HEADER.map(() => " --- ").join("|")}|`,
    );
    for (const { c, index } of group.entries)
      out.push(`| ${row(c, gates?.failures.get(index)).map(escape).join(" | ")} |`);
    const first = group.entries[0]?.c;
    const extra = [
      ...(first === undefined
        ? []
        : notes(report, first.workload, [first.baseline.label, first.candidate.label])),
      ...[...new Set(group.entries.flatMap(({ c }) => c.flags))].map((f) => `flag: ${f}`),
      ...noiseNotes(group.entries.map(({ c }) => c)),
      ...group.entries
        .map(({ index }) => gates?.failures.get(index))
        .filter((f): f is string => f !== undefined)
        .map((f) => `gate: ${f}`),
    ];
    if (extra.length > 0) out.push("", ...extra.map((e) => `- ${escape(e)}`));
  }
  out.push("", footer(report));
  return `${out.join("\n")}\n`;
}
