import { studentTQuantile } from "../stats/distributions.js";
import {
  compareBootMeans,
  summarizeBoots,
  type BootComparison,
  type BootSummary,
} from "../stats/boot-level.js";
import { OUTLIER_Z, modifiedZScores } from "../stats/outliers.js";
import { mannWhitneyU } from "../stats/two-sample.js";
import {
  bootValues,
  cellLabel,
  countedValues,
  describeIteration,
  type CellData,
  type MetricInfo,
} from "./cell-metrics.js";
import { MIN_BOOTS, insufficientReason, type Direction } from "./verdict.js";

/** One side of a comparison: the boot-level summary, plus the iteration view the tables show. */
export interface SideSummary {
  readonly label: string;
  /** Boots that counted the metric. */
  readonly boots: number;
  /** Counted iterations. */
  readonly n: number;
  /** Mean of the boot means. */
  readonly mean: number;
  /** Standard deviation of the iterations (the cover letter's "+-"). */
  readonly sd: number;
  /** Standard deviation of the boot means. */
  readonly sdBoots: number;
  /** 95 % CI of the mean, from the boot means (Student's t); null below two boots. */
  readonly ci95: readonly [number, number] | null;
  /** Coefficient of variation of the boot means; null when the mean is 0. */
  readonly cov: number | null;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Intra-boot correlation; null when no boot ran two iterations. */
  readonly icc: number | null;
}

/** A comparison before Holm's correction and the verdict. */
export interface MetricDraft {
  readonly metric: string;
  readonly unit: string;
  readonly direction: Direction;
  readonly baseline: SideSummary;
  readonly candidate: SideSummary;
  /** Undefined when a side has fewer than MIN_BOOTS boots: no test is run. */
  readonly test: BootComparison | undefined;
  readonly pMannWhitney: number | null;
  readonly mannWhitneyMethod: "exact" | "asymptotic" | null;
  /** Whether Mann-Whitney sees the candidate's boots shifted the same way as the means. */
  readonly mannWhitneyAgrees: boolean;
  readonly insufficient: string | undefined;
  readonly flags: readonly string[];
  readonly dropped: readonly string[];
}

function side(label: string, s: BootSummary): SideSummary {
  const half =
    s.boots < 2
      ? undefined
      : studentTQuantile(0.975, s.boots - 1) * (s.sdBoots / Math.sqrt(s.boots));
  return {
    label,
    boots: s.boots,
    n: s.iterations,
    mean: s.mean,
    sd: s.sdIterations,
    sdBoots: s.sdBoots,
    ci95: half === undefined ? null : [s.mean - half, s.mean + half],
    cov: s.mean === 0 ? null : s.sdBoots / Math.abs(s.mean),
    median: s.median,
    min: s.min,
    max: s.max,
    icc: s.icc,
  };
}

/** Iterations far from their cell's others (modified z-score above 3.5): flagged, never dropped. */
function outlierFlags(cell: CellData, metric: string): string[] {
  return modifiedZScores(countedValues(cell, metric))
    .map((z, i) => ({ z, i }))
    .filter(({ z }) => Math.abs(z) > OUTLIER_Z)
    .map(
      ({ z, i }) =>
        `${metric} on ${cellLabel(cell)}: ${describeIteration(cell, metric, i)} is an outlier (modified z ${z.toFixed(1)})`,
    );
}

/** Iterations perf did not count, said for each side: the comparison runs on the rest. */
function droppedIterations(cell: CellData, metric: string, info: MetricInfo | undefined): string[] {
  if (info === undefined || info.missing === 0) return [];
  return [
    `${metric} on ${cellLabel(cell)}: ${info.missing} of ${info.iterations} iterations without a count (perf printed <${[...info.statuses].filter((s) => s !== "counted").join("|")}>), compared over the other ${info.iterations - info.missing}`,
  ];
}

/**
 * Pure: one metric of a candidate cell against its baseline cell, on the boot means. The
 * caller has checked that both sides counted the metric at least once.
 */
export function compareMetric(
  baseline: CellData,
  candidate: CellData,
  metric: string,
  meta: {
    unit: string;
    direction: Direction;
    alpha: number;
    baselineInfo?: MetricInfo;
    candidateInfo?: MetricInfo;
  },
): MetricDraft {
  const a = summarizeBoots(bootValues(baseline, metric));
  const b = summarizeBoots(bootValues(candidate, metric));
  const enough = a.boots >= MIN_BOOTS && b.boots >= MIN_BOOTS;
  const test = enough ? compareBootMeans(a.bootMeans, b.bootMeans) : undefined;
  const mw = enough ? mannWhitneyU(a.bootMeans, b.bootMeans) : undefined;
  const flags = [...outlierFlags(baseline, metric), ...outlierFlags(candidate, metric)];
  // U of the baseline above half of m·n: the baseline's boots tend to be the larger.
  const mwCandidateLower = mw === undefined ? undefined : mw.u > (a.boots * b.boots) / 2;
  const meansCandidateLower = b.mean < a.mean;
  const agrees =
    mwCandidateLower === undefined ||
    mw?.u === (a.boots * b.boots) / 2 ||
    mwCandidateLower === meansCandidateLower;
  if (!agrees && test !== undefined && !test.exact) {
    flags.push(
      `${metric}: the means and Mann-Whitney point opposite ways (the mean ${meansCandidateLower ? "fell" : "rose"}, most boots ${meansCandidateLower ? "rose" : "fell"}); an outlier may drive the mean`,
    );
  }
  if (test?.exact === true)
    flags.push(`${metric}: every boot gave the same value on each side; the difference is exact`);
  if (
    test !== undefined &&
    mw !== undefined &&
    !test.exact &&
    test.p < meta.alpha !== mw.p < meta.alpha
  ) {
    flags.push(
      `${metric}: Welch (p ${test.p.toPrecision(2)}) and Mann-Whitney (p ${mw.p.toPrecision(2)}) disagree at alpha ${meta.alpha}; look at the outliers and the boot-to-boot spread`,
    );
  }
  return {
    metric,
    unit: meta.unit,
    direction: meta.direction,
    baseline: side(cellLabel(baseline), a),
    candidate: side(cellLabel(candidate), b),
    test,
    pMannWhitney: mw?.p ?? null,
    mannWhitneyMethod: mw?.method ?? null,
    mannWhitneyAgrees: agrees,
    insufficient: enough ? undefined : insufficientReason(a.boots, b.boots),
    flags,
    dropped: [
      ...droppedIterations(baseline, metric, meta.baselineInfo),
      ...droppedIterations(candidate, metric, meta.candidateInfo),
    ],
  };
}
