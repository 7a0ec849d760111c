import { PerfCsvParseError } from "./perf-csv-error.js";
import { parsePerfCsvRow } from "./perf-csv-row.js";
import type { PerfRun } from "./perf-csv-types.js";

export { PerfCsvParseError } from "./perf-csv-error.js";
export type { PerfCounter, PerfMetric, PerfRun, PerfValue } from "./perf-csv-types.js";

export interface PerfCsvOptions {
  /**
   * The string given to `perf stat -x`. When omitted it is detected from the first data
   * line: the first of AUTO_SEPARATORS that parses it wins, and every other line must
   * then parse with the same separator.
   */
  separator?: string;
}

// Comma first: it is perf's usual choice and the one the tests capture. ':' comes last
// because it also appears inside event names ("instructions:u", "sched:sched_switch").
// A space is not offered: metric units such as "CPUs utilized" contain spaces.
const AUTO_SEPARATORS = [",", ";", "\t", "|", ":"] as const;

// perf -o writes this before every invocation's output (and --append keeps the old ones).
const STARTED_ON = /^# started on (.*)$/;

function isSeparatorLine(line: string): boolean {
  return line.trim() === "" || line.startsWith("#");
}

function detectSeparator(lines: readonly string[]): string {
  const firstData = lines.find((line) => !isSeparatorLine(line));
  if (firstData === undefined) return ",";
  const fitting = AUTO_SEPARATORS.find((sep) => parsePerfCsvRow(firstData, sep).ok);
  // Nothing fits: fall back to the default so the error names the comma-based reason.
  return fitting ?? ",";
}

/**
 * Parses the text `perf stat -x<sep> [-o file [--append]] [-r N]` writes, without the
 * per-CPU/-thread/-I prefix columns (those are rejected, not guessed at).
 *
 * Runs: each "# started on" header starts a run (kept even if perf wrote no counters after
 * it, e.g. because it failed to open an event group); data lines without a header start an
 * implicit run, and a blank or other comment line ends a run that already has counters.
 *
 * Every data line must parse; the first one that does not throws PerfCsvParseError with
 * its 1-based line number. Pure: no I/O.
 */
export function parsePerfStatCsv(text: string, options: PerfCsvOptions = {}): PerfRun[] {
  if (options.separator === "") throw new RangeError("perf stat CSV separator must not be empty");
  const lines = text.split(/\r?\n/);
  const separator = options.separator ?? detectSeparator(lines);

  const runs: PerfRun[] = [];
  let current: PerfRun | undefined;
  const closeRun = (): void => {
    if (current) runs.push(current);
    current = undefined;
  };

  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    const header = STARTED_ON.exec(line);
    if (header) {
      closeRun();
      current = { index: runs.length, startedOn: header[1] ?? "", counters: [] };
      return;
    }
    if (isSeparatorLine(line)) {
      // perf puts a blank line right after its header, so only a run that already has
      // counters is ended here.
      if (current && current.counters.length > 0) closeRun();
      return;
    }

    const parsed = parsePerfCsvRow(line, separator);
    if (!parsed.ok) throw new PerfCsvParseError(lineNumber, line, parsed.reason);
    const row = parsed.row;

    if (row.kind === "metric") {
      const owner = current?.counters.at(-1);
      if (!owner) {
        throw new PerfCsvParseError(
          lineNumber,
          line,
          "metric continuation line before any counter",
        );
      }
      (owner.extraMetrics ??= []).push(row.metric);
      return;
    }
    current ??= { index: runs.length, counters: [] };
    current.counters.push(row.counter);
  });
  closeRun();
  return runs;
}
