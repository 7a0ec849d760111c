import type { Comparison, ComparisonReport } from "./compare-model.js";
import { formatP, formatPct, formatQuantity } from "./format.js";
import type { GateResult } from "./gates.js";
import { MIN_BOOTS } from "./verdict.js";

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
  return `${formatQuantity(side.mean, unit)} ± ${formatQuantity(side.sd, unit)} (n=${side.n}, ${side.boots} boot${side.boots === 1 ? "" : "s"})`;
}

/** The delta column: a percentage, or the difference in the metric's unit when no ratio exists. */
export function deltaText(c: Comparison): { delta: string; ci: string } {
  if (c.method === "difference" && c.deltaCi95 !== null) {
    const q = (v: number): string => `${v > 0 ? "+" : ""}${formatQuantity(v, c.unit)}`;
    return { delta: q(c.difference), ci: `[${q(c.deltaCi95[0])}, ${q(c.deltaCi95[1])}]` };
  }
  return {
    delta: formatPct(c.deltaPct),
    ci:
      c.deltaCi95 === null ? "n/a" : `[${formatPct(c.deltaCi95[0])}, ${formatPct(c.deltaCi95[1])}]`,
  };
}

function verdictText(c: Comparison, index: number, gates?: GateResult): string {
  if (gates?.failures.has(index) === true) return `${c.verdict} (GATE FAILED)`;
  if (gates?.undecided.has(index) === true) return `${c.verdict} (GATE UNDECIDED)`;
  return c.verdict;
}

function row(c: Comparison, index: number, gates?: GateResult): string[] {
  const { delta, ci } = deltaText(c);
  return [
    c.metric,
    meanSd(c.baseline, c.unit),
    meanSd(c.candidate, c.unit),
    delta,
    ci,
    formatP(c.pWelch),
    formatP(c.pMannWhitney),
    formatP(c.pAdjusted),
    verdictText(c, index, gates),
  ];
}

interface Group {
  readonly title: string;
  readonly entries: { c: Comparison; index: number }[];
}

/** Groups comparisons by workload and candidate, in report order. */
export function groups(report: ComparisonReport): Group[] {
  const result: Group[] = [];
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

function icc(value: number | null): string {
  return value === null ? "n/a (one iteration per boot)" : value.toFixed(2);
}

/** The lines under a group's table: why each verdict, what was dropped or flagged, the gates. */
export function groupNotes(report: ComparisonReport, group: Group, gates?: GateResult): string[] {
  const first = group.entries[0]?.c;
  const labels = first === undefined ? [] : [first.baseline.label, first.candidate.label];
  const lines: string[] = [];
  const knownIcc = group.entries.some(
    ({ c }) => c.baseline.icc !== null || c.candidate.icc !== null,
  );
  if (!knownIcc) lines.push("intra-boot correlation (ICC): n/a, one iteration per boot");
  for (const { c } of group.entries) {
    const boots =
      c.bootsNeeded === null ? "" : `; about ${c.bootsNeeded} boots per side would decide it`;
    lines.push(`${c.metric}: ${c.verdict}: ${c.reason}${boots}`);
    if (knownIcc)
      lines.push(
        `${c.metric}: intra-boot correlation (ICC) ${icc(c.baseline.icc)} baseline, ${icc(c.candidate.icc)} candidate`,
      );
    if (c.noiseFloorPct !== null)
      lines.push(
        `noise floor of ${c.metric} (A/A calibration): deltas under ±${c.noiseFloorPct.toFixed(1)}% are not reliably detectable`,
      );
  }
  for (const u of report.unsupported) {
    if (u.workload === first?.workload && labels.includes(u.label))
      lines.push(`${u.metric} on ${u.label}: ${u.reason}`);
  }
  const extra = [
    ...new Set(
      group.entries.flatMap(({ c }) => [
        ...c.dropped.map((d) => `dropped: ${d}`),
        ...c.flags.map((f) => `flag: ${f}`),
      ]),
    ),
  ];
  lines.push(...extra);
  for (const { index } of group.entries) {
    const failure = gates?.failures.get(index);
    if (failure !== undefined) lines.push(`gate failed: ${failure}`);
    const undecided = gates?.undecided.get(index);
    if (undecided !== undefined) lines.push(`gate undecided: ${undecided}`);
  }
  return lines;
}

export function footer(report: ComparisonReport): string {
  return `Method: ${report.method}. Holm's correction across all ${report.comparisons.length} comparisons, alpha ${report.alpha}. A regression or improvement is significant by Welch after Holm and by Mann-Whitney, the same way, and at least ${report.minEffectPct} % (--min-effect); "no change" means the 95 % CI lies within ±${report.minEffectPct} %; a verdict needs ${MIN_BOOTS} boots per side. Lower is better unless configured.`;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map(
    (r) =>
      `  ${r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd()}`,
  );
}

/** The cover letter's table per workload, plus CI, p-values and verdict columns. */
export function renderText(report: ComparisonReport, gates?: GateResult): string {
  const out: string[] = [`baseline: ${report.baseline.key}=${report.baseline.value}`];
  for (const group of groups(report)) {
    out.push(
      "",
      group.title,
      ...table([HEADER, ...group.entries.map(({ c, index }) => row(c, index, gates))]),
    );
    out.push(...groupNotes(report, group, gates).map((line) => `  ${line}`));
  }
  for (const d of report.dropped) out.push(`dropped: ${d}`);
  out.push("", footer(report));
  return out.join("\n");
}

/** The same tables in Markdown, for a PR comment or $GITHUB_STEP_SUMMARY. */
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
      out.push(`| ${row(c, index, gates).map(escape).join(" | ")} |`);
    const notes = groupNotes(report, group, gates);
    if (notes.length > 0) out.push("", ...notes.map((e) => `- ${escape(e)}`));
  }
  if (report.dropped.length > 0)
    out.push("", ...report.dropped.map((d) => `- dropped: ${escape(d)}`));
  out.push("", footer(report));
  return `${out.join("\n")}\n`;
}
