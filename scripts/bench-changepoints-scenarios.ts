/**
 * The scenarios of `npm run bench:changepoints` (see scripts/bench-changepoints.ts): synthetic
 * histories replayed night by night as the nightly job sees them, and what the gate reports.
 */
import type { DetectorOptions } from "../src/core/history/change-points.js";
import { seriesDetector } from "../src/core/history/change-points.js";
import { newChanges, type GateOptions } from "../src/core/history/history-gate.js";
import { recordsFromRun } from "../src/core/history/history-record.js";
import { buildSeries } from "../src/core/history/history-series.js";
import {
  DEFAULT_ANALYSIS_OPTIONS,
  seriesAnalyzer,
  type Direction,
} from "../src/core/history/series-analysis.js";
import {
  REAL_LIKE,
  Rng,
  generateHistory,
  historyRunInputs,
  type HistoryEvent,
  type NoiseProfile,
  type SyntheticHistory,
} from "../src/core/history/synthetic-history.js";

/** How much to run: histories per row, and the gate the replay applies. */
export interface Bench {
  readonly histories: number;
  readonly gate: GateOptions;
}

/** Nights before the replay starts judging; a step matches a change within ± MATCH nights. */
export const FIRST_NIGHT = 10;
export const MATCH = 3;
/** Nights watched after a step. */
export const STEP_WATCH = 15;

export const NIGHT_EFFECT: NoiseProfile = {
  ...REAL_LIKE,
  name: "real-like + night effect (sd 1 %, shared by the night's boots)",
  nightSd: 0.01,
};
export const WANDER: NoiseProfile = {
  ...REAL_LIKE,
  name: "real-like + night-to-night drift (AR(1) wander, sd 0.5 %, φ 0.9)",
  wanderSd: 0.005,
};

/** Outlier nights, 1 in 20, ±10-30 %. */
export function outlierEvents(rng: Rng, nights: number): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  for (let i = 5; i < nights; i++) {
    if (rng.next() < 1 / 20) {
      const sign = rng.next() < 0.5 ? -1 : 1;
      events.push({ kind: "outlier", night: i, relative: sign * rng.uniform(0.1, 0.3) });
    }
  }
  return events;
}

export interface Alert {
  readonly night: number;
  readonly index: number;
  readonly direction: Direction;
  readonly deltaPercent: number;
}

/** The change points one analysis of the first `nights` nights reports, as the gate sees them. */
type AnalyzeAt = (
  nights: number,
) => { index: number; direction: Direction; deltaPercent: number }[];

function direction(relativeChange: number): Direction {
  return relativeChange > 0 ? "regression" : "improvement";
}

/** Replays the nights from..to (inclusive) and returns what the gate reports on each. */
export function replay(bench: Bench, analyzeAt: AnalyzeAt, from: number, to: number): Alert[] {
  const alerts: Alert[] = [];
  const earlier: ReturnType<AnalyzeAt>[] = [];
  for (let n = Math.max(1, from + 1 - bench.gate.memory); n <= from; n++)
    earlier.push(analyzeAt(n));
  for (let night = from; night <= to; night++) {
    const current = analyzeAt(night + 1);
    const seen = earlier.slice(-bench.gate.memory).flat();
    for (const change of newChanges(seen, current, bench.gate.tolerance))
      alerts.push({ night, ...change });
    earlier.push(current);
  }
  return alerts;
}

/**
 * The first alert of the replay of nights from..to (inclusive) in the direction of `sign` whose
 * index `near` accepts: where steps and drifts count a detection.
 */
function firstHit(
  bench: Bench,
  analyzeAt: AnalyzeAt,
  sign: number,
  from: number,
  to: number,
  near: (index: number) => boolean,
): Alert | undefined {
  const wanted = direction(sign);
  return replay(bench, analyzeAt, from, to).find((a) => a.direction === wanted && near(a.index));
}

export function valuesAnalyzer(history: SyntheticHistory, options: DetectorOptions) {
  const detector = seriesDetector(
    history.nights.map((n) => n.value),
    options,
    history.nights.map((n) => n.bootMeans),
  );
  return (nights: number) =>
    detector(nights).map((c) => ({
      index: c.index,
      direction: direction(c.relativeChange),
      deltaPercent: c.relativeChange * 100,
    }));
}

export function recordsAnalyzer(history: SyntheticHistory) {
  const records = historyRunInputs(history).flatMap((run) => recordsFromRun(run).records);
  const series = buildSeries(records)[0]!;
  const analyzer = seriesAnalyzer(series, DEFAULT_ANALYSIS_OPTIONS);
  return {
    series,
    analyzeAt: (nights: number) =>
      analyzer(nights).changes.map((c) => ({
        index: c.index,
        direction: c.direction,
        deltaPercent: c.deltaPercent,
      })),
  };
}

export interface FalseAlertRow {
  readonly label: string;
  readonly nights: number;
  readonly alertNights: number;
  readonly gateNights: number;
  readonly extra?: string;
}

export function falseAlerts(
  bench: Bench,
  label: string,
  profile: NoiseProfile,
  rng: Rng,
  options: DetectorOptions,
  events: (nights: number) => HistoryEvent[] = () => [],
): FalseAlertRow {
  let nights = 0;
  let alertNights = 0;
  let gateNights = 0;
  for (let h = 0; h < bench.histories; h++) {
    const length = rng.int(60, 120);
    const history = generateHistory(rng, { nights: length, profile, events: events(length) });
    const alerts = replay(bench, valuesAnalyzer(history, options), FIRST_NIGHT, length - 1);
    alertNights += new Set(alerts.map((a) => a.night)).size;
    gateNights += new Set(
      alerts
        .filter(
          (a) => a.direction === "regression" && a.deltaPercent >= bench.gate.thresholdPercent,
        )
        .map((a) => a.night),
    ).size;
    nights += length - FIRST_NIGHT;
  }
  return { label, nights, alertNights, gateNights };
}

export interface StepRow {
  readonly label: string;
  readonly n: number;
  readonly within5: number;
  readonly within15: number;
  readonly exact: number;
  readonly delays: number[];
}

export function steps(
  bench: Bench,
  label: string,
  relative: number,
  profile: NoiseProfile,
  rng: Rng,
  options: DetectorOptions,
): StepRow {
  let within5 = 0;
  let within15 = 0;
  let exact = 0;
  const delays: number[] = [];
  for (let h = 0; h < bench.histories; h++) {
    const length = rng.int(60, 120);
    const night = rng.int(30, length - STEP_WATCH);
    const sign = rng.next() < 0.5 ? -1 : 1;
    const history = generateHistory(rng, {
      nights: night + STEP_WATCH,
      profile,
      events: [{ kind: "step", night, relative: sign * relative }],
    });
    const analyzeAt = valuesAnalyzer(history, options);
    const hit = firstHit(
      bench,
      analyzeAt,
      sign,
      night,
      night + STEP_WATCH - 1,
      (index) => Math.abs(index - night) <= MATCH,
    );
    if (hit === undefined) continue;
    const delay = hit.night - night;
    delays.push(delay);
    within15++;
    if (delay <= 4) within5++;
    if (hit.index === night) exact++;
  }
  return { label, n: bench.histories, within5, within15, exact, delays };
}

export function drifts(
  bench: Bench,
  label: string,
  relative: number,
  length: number,
  rng: Rng,
  options: DetectorOptions,
): StepRow {
  let within5 = 0;
  let within15 = 0;
  const delays: number[] = [];
  for (let h = 0; h < bench.histories; h++) {
    const total = rng.int(60, 120);
    const start = rng.int(30, Math.max(30, total - length - STEP_WATCH));
    const sign = rng.next() < 0.5 ? -1 : 1;
    const end = start + length + STEP_WATCH;
    const history = generateHistory(rng, {
      nights: end,
      profile: REAL_LIKE,
      events: [{ kind: "drift", night: start, length, relative: sign * relative }],
    });
    const analyzeAt = valuesAnalyzer(history, options);
    const hit = firstHit(
      bench,
      analyzeAt,
      sign,
      start,
      end - 1,
      (index) => index >= start - MATCH && index <= start + length,
    );
    if (hit === undefined) continue;
    const delay = hit.night - start;
    delays.push(delay);
    if (delay < length + 5) within5++;
    within15++;
  }
  return { label, n: bench.histories, within5, within15, exact: 0, delays };
}

export function breaks(bench: Bench, kind: "fingerprint" | "bits", rng: Rng) {
  let rightSplit = 0;
  let changeAtBreak = 0;
  let nights = 0;
  let alertNights = 0;
  const n = Math.max(20, Math.floor(bench.histories / 3));
  for (let h = 0; h < n; h++) {
    const length = rng.int(60, 120);
    const night = rng.int(20, length - 20);
    const relative = (rng.next() < 0.5 ? -1 : 1) * 0.1;
    const history = generateHistory(rng, {
      nights: length,
      profile: REAL_LIKE,
      events: [{ kind, night, relative }],
    });
    const { series, analyzeAt } = recordsAnalyzer(history);
    const split = series.splits.find((s) => s.index === night);
    if (series.splits.length === 1 && split !== undefined) rightSplit++;
    const alerts = replay(bench, analyzeAt, FIRST_NIGHT, length - 1);
    if (alerts.some((a) => Math.abs(a.index - night) <= MATCH)) changeAtBreak++;
    alertNights += new Set(alerts.map((a) => a.night)).size;
    nights += length - FIRST_NIGHT;
  }
  return { n, rightSplit, changeAtBreak, nights, alertNights };
}
