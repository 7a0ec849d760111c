/**
 * The detector over a series' segments: change points with their nights, levels, delta and
 * significance, and which way is a regression. Pure.
 */
import {
  DEFAULT_DETECTOR_OPTIONS,
  relativeNoiseSd,
  seriesDetector,
  type DetectorOptions,
} from "./change-points.js";
import type { HistoryRecord } from "./history-record.js";
import type { HistorySeries, SeriesKey } from "./history-series.js";

export type Direction = "regression" | "improvement";

export interface HistoryChange {
  readonly series: string;
  readonly key: SeriesKey;
  /** 0-based night of the series: the first night at the new level. */
  readonly index: number;
  readonly date: string;
  readonly sourceRun: string;
  /** Kernel build on the last night before and the first night after (commit or sha256). */
  readonly buildBefore: string | null;
  readonly buildAfter: string | null;
  readonly before: { mean: number; median: number; sd: number; nights: number };
  readonly after: { mean: number; median: number; sd: number; nights: number };
  readonly deltaPercent: number;
  readonly p: number;
  readonly direction: Direction;
}

export interface SeriesAnalysis {
  readonly series: HistorySeries;
  readonly changes: readonly HistoryChange[];
}

export interface AnalysisOptions {
  readonly detector: DetectorOptions;
  /** Metrics where a higher value is better; every other metric: lower is better. */
  readonly higherIsBetter: readonly string[];
}

export const DEFAULT_ANALYSIS_OPTIONS: AnalysisOptions = {
  detector: DEFAULT_DETECTOR_OPTIONS,
  higherIsBetter: [],
};

function build(record: HistoryRecord | undefined): string | null {
  if (record === undefined) return null;
  return record.kernel.commit ?? record.kernel.sha256 ?? null;
}

export function directionOf(
  metric: string,
  relativeChange: number,
  options: AnalysisOptions,
): Direction {
  const higherBetter = options.higherIsBetter.includes(metric);
  return relativeChange > 0 !== higherBetter ? "regression" : "improvement";
}

/**
 * The detector over one series, able to analyse it as it stood after any number of nights (the
 * gate replays earlier nights with it).
 */
export function seriesAnalyzer(
  series: HistorySeries,
  options: AnalysisOptions = DEFAULT_ANALYSIS_OPTIONS,
): (nights: number) => SeriesAnalysis {
  const detectors = series.segments.map(([from, to]) => {
    const records = series.records.slice(from, to);
    return seriesDetector(
      records.map((r) => r.mean),
      options.detector,
      records.map((r) => r.boots.map((b) => b.mean)),
    );
  });
  return (nights) => {
    const changes: HistoryChange[] = [];
    // The noise level of all the nights so far (within segments) is a floor for each segment's
    // tests: a young segment after a split need not estimate it from its few nights.
    const noise =
      series.segments.length > 1
        ? relativeNoiseSd(
            series.segments.map(([from, to]) =>
              series.records.slice(from, Math.min(to, nights)).map((r) => r.mean),
            ),
          )
        : undefined;
    series.segments.forEach(([from, segmentEnd], s) => {
      const to = Math.min(segmentEnd, nights);
      if (to <= from) return;
      const context = noise === undefined ? undefined : { relativeNoiseSd: noise };
      for (const change of detectors[s]!(to - from, context)) {
        const index = from + change.index;
        const record = series.records[index]!;
        changes.push({
          series: series.id,
          key: series.key,
          index,
          date: record.date,
          sourceRun: record.sourceRun,
          buildBefore: build(series.records[index - 1]),
          buildAfter: build(record),
          before: {
            mean: change.before.mean,
            median: change.before.median,
            sd: change.before.sd,
            nights: change.before.n,
          },
          after: {
            mean: change.after.mean,
            median: change.after.median,
            sd: change.after.sd,
            nights: change.after.n,
          },
          deltaPercent: change.relativeChange * 100,
          p: change.p,
          direction: directionOf(series.key.metric, change.relativeChange, options),
        });
      }
    });
    return { series, changes };
  };
}

/** The detector's findings for the nights [0, nights) of one series. */
export function analyzeSeries(
  series: HistorySeries,
  options: AnalysisOptions = DEFAULT_ANALYSIS_OPTIONS,
  nights: number = series.records.length,
): SeriesAnalysis {
  return seriesAnalyzer(series, options)(nights);
}
