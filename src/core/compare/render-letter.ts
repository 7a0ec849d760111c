import type { Comparison, ComparisonReport } from "./compare-model.js";
import { groups } from "./render-table.js";

/** The widest line a mail takes without wrapping. */
export const LETTER_WIDTH = 72;

const SCALES = [
  [1e9, "G"],
  [1e6, "M"],
  [1e3, "K"],
] as const;

function scaled(value: number, digits: (x: number) => string): string {
  for (const [scale, suffix] of SCALES) {
    if (Math.abs(value) >= scale * 0.9995) return `${digits(value / scale)}${suffix}`;
  }
  return digits(value);
}

/** As the cover letter writes a mean: 232, 51, 1.20M, 16.3M, 288K. */
function letterMean(value: number, unit: string): string {
  if (unit !== "") return `${Math.abs(value) >= 10 ? value.toFixed(0) : value.toPrecision(2)}`;
  return scaled(value, (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3)));
}

/** As the cover letter writes an sd: 20, 248K, 36K, 1.2M. */
function letterSd(value: number, unit: string): string {
  const digits = (x: number): string => (Math.abs(x) >= 10 ? x.toFixed(0) : x.toFixed(1));
  return unit !== "" ? digits(value) : scaled(value, digits);
}

function unitSuffix(unit: string): string {
  if (unit === "msec") return " ms";
  return unit === "" ? "" : ` ${unit}`;
}

function cell(side: Comparison["baseline"], unit: string): string {
  return `${letterMean(side.mean, unit)} +- ${letterSd(side.sd, unit)}${unitSuffix(unit)}`;
}

function delta(c: Comparison): string {
  if (c.deltaPct === null) return "n/a";
  return `${c.deltaPct > 0 ? "+" : ""}${c.deltaPct.toFixed(0)}%`;
}

/** Wraps a title at word boundaries to the letter's width. */
function wrap(text: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > LETTER_WIDTH) {
      lines.push(line);
      line = ` ${word}`;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

/**
 * The table's lines, columns padded as in the letter; when a long metric name would push a
 * row past 72 columns, the metric names go on lines of their own above their numbers.
 */
function layout(rows: readonly (readonly string[])[]): string[] {
  const width = (i: number, from: readonly (readonly string[])[]): number =>
    Math.max(14, ...from.map((r) => (r[i] ?? "").length + 1));
  const line = (cells: readonly string[], widths: readonly number[]): string =>
    `  ${cells
      .map((text, i) => (i < cells.length - 1 ? text.padEnd(widths[i] ?? 0) : text))
      .join(" ")
      .trimEnd()}`;
  const widths = [0, 1, 2].map((i) => width(i, rows));
  const lines = rows.map((r) => line(r, widths));
  if (lines.every((l) => l.length <= LETTER_WIDTH)) return lines;
  const numbers = rows.map((r) => ["", ...r.slice(1)]);
  const narrow = [2, ...[1, 2].map((i) => width(i, numbers))];
  return rows.flatMap((r, i) => [`  ${r[0] ?? ""}`, line(numbers[i] ?? [], narrow)]);
}

/**
 * The Linux cover letter's table, ready to paste into a mail: plain ASCII, at most 72 columns,
 * `metric  baseline  optimized  delta` with `mean +- sd` per side, one table per workload and
 * candidate, and one line saying how many iterations and boots stand behind it.
 */
export function renderLetter(report: ComparisonReport): string {
  const out: string[] = [];
  for (const group of groups(report)) {
    const first = group.entries[0]?.c;
    if (first === undefined) continue;
    out.push(
      ...wrap(
        `${first.workload}: ${first.candidate.label} (optimized) vs ${first.baseline.label} (baseline):`,
      ),
      "",
    );
    const rows = [
      ["metric", "baseline", "optimized", "delta"],
      ...group.entries.map(({ c }) => [
        c.metric,
        cell(c.baseline, c.unit),
        cell(c.candidate, c.unit),
        delta(c),
      ]),
    ];
    out.push(...layout(rows));
    const boots = `${first.baseline.n} runs in ${first.baseline.boots} boots vs ${first.candidate.n} in ${first.candidate.boots}`;
    out.push("", `  (mean +- sd over iterations; ${boots})`, "");
  }
  const text = out.join("\n").replace(/[^\x20-\x7e\n]/g, "?");
  return `${text.trimEnd()}\n`;
}
