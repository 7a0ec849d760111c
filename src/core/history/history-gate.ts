/**
 * The nightly gate on the history: the change points the last night(s) brought, and whether a
 * new regression beyond the threshold fails the night. Pure.
 */
import {
  seriesAnalyzer,
  DEFAULT_ANALYSIS_OPTIONS,
  type AnalysisOptions,
  type Direction,
  type HistoryChange,
  type SeriesAnalysis,
} from "./series-analysis.js";

export interface GateOptions {
  /**
   * A change is new when the analyses of the history as it stood before the last N nights of the
   * store (that night and the `memory` − 1 nights before it) do not have it.
   */
  readonly lastNights: number;
  /** Only new regressions whose |delta| reaches this many percent fail the gate. */
  readonly thresholdPercent: number;
  /** Nights a change point may move between two analyses and still be the same one. */
  readonly tolerance: number;
  /**
   * How many earlier nightly analyses a change must be absent from to be new. A change point
   * near the significance line comes and goes from night to night; remembering a month of
   * analyses alerts on it once (the benchmark: about a third fewer false alerts than 1).
   */
  readonly memory: number;
}

/**
 * thresholdPercent 2.5 = the detector's minMagnitude: by default every new regression the
 * detector reports fails the nightly gate (the benchmark's false-alert rate is the gate's).
 */
export const DEFAULT_GATE_OPTIONS: GateOptions = {
  lastNights: 1,
  thresholdPercent: 2.5,
  tolerance: 2,
  memory: 30,
};

/** The changes of `current` that `previous` does not have (same direction, index ± tolerance). */
export function newChanges<T extends { index: number; direction: Direction }>(
  previous: readonly T[],
  current: readonly T[],
  tolerance: number,
): T[] {
  return current.filter(
    (c) =>
      !previous.some(
        (p) => p.direction === c.direction && Math.abs(p.index - c.index) <= tolerance,
      ),
  );
}

/** UTC calendar day of a record: the unit of "night" for the gate. */
export function nightOf(date: string): string {
  return new Date(Date.parse(date)).toISOString().slice(0, 10);
}

export interface GateResult {
  readonly options: GateOptions;
  /** The nights (UTC days) the gate looked at, newest last. */
  readonly nights: readonly string[];
  readonly newChanges: readonly HistoryChange[];
  readonly regressions: readonly HistoryChange[];
  readonly failed: boolean;
}

/**
 * The nightly gate: change points that the last N nights of the store brought (absent from the
 * analysis of the history before them); fails on a new regression of at least thresholdPercent.
 */
export function gateHistory(
  analyses: readonly SeriesAnalysis[],
  options: AnalysisOptions = DEFAULT_ANALYSIS_OPTIONS,
  gate: GateOptions = DEFAULT_GATE_OPTIONS,
): GateResult {
  const allNights = [
    ...new Set(analyses.flatMap((a) => a.series.records.map((r) => nightOf(r.date)))),
  ].sort();
  const nights = allNights.slice(-gate.lastNights);
  const recent = new Set(nights);
  const found: HistoryChange[] = [];
  for (const analysis of analyses) {
    const records = analysis.series.records;
    let before = records.length;
    while (before > 0 && recent.has(nightOf(records[before - 1]!.date))) before--;
    if (before === records.length) continue;
    const analyzeAt = seriesAnalyzer(analysis.series, options);
    const previous: HistoryChange[] = [];
    for (let n = before; n > 0 && n > before - gate.memory; n--) {
      previous.push(...analyzeAt(n).changes);
    }
    found.push(...newChanges(previous, analysis.changes, gate.tolerance));
  }
  const regressions = found.filter(
    (c) => c.direction === "regression" && Math.abs(c.deltaPercent) >= gate.thresholdPercent,
  );
  return { options: gate, nights, newChanges: found, regressions, failed: regressions.length > 0 };
}
