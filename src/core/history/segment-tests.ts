/**
 * The tests behind each change point of one series: prefix sums for O(1) t-tests on any range
 * of nights, the robust noise floor, the magnitude and the leave-one-night-out check. Pure.
 */
import { studentFromMoments, welchFromMoments, type TTestResult } from "../stats/t-from-moments.js";
import type { DetectedChange, DetectorOptions, SegmentStats } from "./change-points.js";
export interface Input {
  readonly values: readonly number[];
  readonly boots: readonly (readonly number[])[] | undefined;
  /** The nights analysed: values[0, n). */
  readonly n: number;
  /**
   * Robust noise variance of the nights analysed, from successive differences (MAD of the
   * differences / 0.6745, squared, halved): a floor for every t-test's pooled variance, so that
   * two short segments that happen to be quiet cannot look significant. Level shifts barely move
   * it (each shows up in one difference only).
   */
  readonly noiseVariance: number;
  /** Prefix sums of (value − shift) and its square: O(1) t-tests on any range of nights. */
  readonly sum: Float64Array;
  readonly sumSquares: Float64Array;
  /** The same over every boot of the nights (count, sum, squares), for "welch-boots". */
  readonly bootCount: Float64Array;
  readonly bootSum: Float64Array;
  readonly bootSumSquares: Float64Array;
}

export function makeInput(values: readonly number[], boots: Input["boots"]): Input {
  const shift = values[0] ?? 0;
  const sum = new Float64Array(values.length + 1);
  const sumSquares = new Float64Array(values.length + 1);
  const bootCount = new Float64Array(values.length + 1);
  const bootSum = new Float64Array(values.length + 1);
  const bootSumSquares = new Float64Array(values.length + 1);
  values.forEach((v, i) => {
    sum[i + 1] = sum[i]! + (v - shift);
    sumSquares[i + 1] = sumSquares[i]! + (v - shift) ** 2;
    const night = boots?.[i] ?? [];
    bootCount[i + 1] = bootCount[i]! + night.length;
    bootSum[i + 1] = bootSum[i]! + night.reduce((acc, b) => acc + (b - shift), 0);
    bootSumSquares[i + 1] =
      bootSumSquares[i]! + night.reduce((acc, b) => acc + (b - shift) ** 2, 0);
  });
  return {
    values,
    boots,
    n: values.length,
    noiseVariance: noiseVariance(values, values.length),
    sum,
    sumSquares,
    bootCount,
    bootSum,
    bootSumSquares,
  };
}

/** (median of |d| / 0.6745)²: the variance of d for normal d around 0. */
export function madVariance(absolute: readonly number[]): number {
  const sorted = [...absolute].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const mad = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return (mad / 0.6744897501960817) ** 2;
}

export function noiseVariance(values: readonly number[], n: number): number {
  if (n < 3) return 0;
  const diffs: number[] = [];
  for (let i = 1; i < n; i++) diffs.push(Math.abs(values[i]! - values[i - 1]!));
  return madVariance(diffs) / 2;
}

/** Student's t-test (pooled variance) of the nights [a0, a1) against [b0, b1). */
export function studentOnRanges(
  input: Input,
  a: readonly [number, number],
  b: readonly [number, number],
  withP = true,
): TTestResult {
  const { sum, sumSquares } = input;
  const n1 = a[1] - a[0];
  const s1 = sum[a[1]]! - sum[a[0]]!;
  const ss1 = Math.max(0, sumSquares[a[1]]! - sumSquares[a[0]]! - (s1 * s1) / n1);
  const n2 = b[1] - b[0];
  const s2 = sum[b[1]]! - sum[b[0]]!;
  const ss2 = Math.max(0, sumSquares[b[1]]! - sumSquares[b[0]]! - (s2 * s2) / n2);
  return studentFromMoments(n1, s1 / n1, ss1, n2, s2 / n2, ss2, withP, input.noiseVariance);
}

export function stats(values: readonly number[]): SegmentStats {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(n / 2);
  const median =
    n % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
  const sd = n < 2 ? 0 : Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  return { n, mean, median, sd };
}

function relative(before: number, after: number): number {
  return before === 0 ? 0 : after / before - 1;
}

/** Otava's change_magnitude: the larger of |after/before − 1| and |before/after − 1|. */
function magnitudeOf(before: number, after: number): number {
  if (before === 0 || after === 0) return 0;
  return Math.max(Math.abs(after / before - 1), Math.abs(before / after - 1));
}

/**
 * The smallest of three estimates of the relative change, 0 when they disagree in sign: by the
 * means, by the medians, and by the means with the newer side's most extreme night (in the
 * change's direction) left out. One odd night can carry the mean, and with a short newer side
 * even its median; it cannot carry all three.
 */
function robustMagnitude(
  before: SegmentStats,
  after: SegmentStats,
  afterValues: readonly number[],
): number {
  const byMean = after.mean - before.mean;
  if (byMean === 0 || afterValues.length < 2) return 0;
  const extreme = byMean > 0 ? Math.max(...afterValues) : Math.min(...afterValues);
  const trimmed = (after.mean * after.n - extreme) / (after.n - 1);
  if (
    Math.sign(after.median - before.median) !== Math.sign(byMean) ||
    Math.sign(trimmed - before.mean) !== Math.sign(byMean)
  ) {
    return 0;
  }
  return Math.min(
    magnitudeOf(before.mean, after.mean),
    magnitudeOf(before.median, after.median),
    magnitudeOf(before.mean, trimmed),
  );
}

/**
 * Student's p with the newer side's most extreme night in the change's direction left out: a
 * change must not hinge on one night (checked at the weak threshold, 10 × maxPValue).
 */
function withoutExtremeP(
  beforeValues: readonly number[],
  afterValues: readonly number[],
  shift: number,
  varianceFloor: number,
): number {
  if (afterValues.length < 2 || shift === 0) return 1;
  const extreme = shift > 0 ? Math.max(...afterValues) : Math.min(...afterValues);
  const rest = [...afterValues];
  rest.splice(rest.indexOf(extreme), 1);
  const moments = (v: readonly number[]): [number, number, number] => {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return [v.length, mean, v.reduce((a, b) => a + (b - mean) ** 2, 0)];
  };
  return studentFromMoments(...moments(beforeValues), ...moments(rest), true, varianceFloor).p;
}

export function test(
  input: Input,
  left: readonly [number, number],
  right: readonly [number, number],
  options: DetectorOptions,
  minSide: number = options.minSegment,
): TTestResult {
  if (left[1] - left[0] < minSide || right[1] - right[0] < minSide) {
    return { t: 0, df: 0, p: 1 };
  }
  if (options.test === "welch-boots" && input.boots !== undefined) {
    const { bootCount: c, bootSum: s, bootSumSquares: q } = input;
    const moments = (r: readonly [number, number]): [number, number, number] => {
      const n = c[r[1]]! - c[r[0]]!;
      const total = s[r[1]]! - s[r[0]]!;
      return [n, total / n, Math.max(0, q[r[1]]! - q[r[0]]! - (total * total) / n)];
    };
    return welchFromMoments(...moments(left), ...moments(right));
  }
  return studentOnRanges(input, left, right);
}

export function describeChange(
  input: Input,
  index: number,
  qhat: number,
  left: readonly [number, number],
  right: readonly [number, number],
  options: DetectorOptions,
  minSide: number = options.minSegment,
): DetectedChange {
  const beforeValues = input.values.slice(left[0], left[1]);
  const before = stats(beforeValues);
  const afterValues = input.values.slice(right[0], right[1]);
  const after = stats(afterValues);
  const result = test(input, left, right, options, minSide);
  const pWithoutExtreme = withoutExtremeP(
    beforeValues,
    afterValues,
    after.mean - before.mean,
    options.test === "student-nights" ? input.noiseVariance : 0,
  );
  return {
    index,
    before,
    after,
    t: result.t,
    df: result.df,
    p: result.p,
    pWithoutExtreme,
    relativeChange: relative(before.mean, after.mean),
    magnitude:
      pWithoutExtreme < weakPValueFor(options.maxPValue)
        ? robustMagnitude(before, after, afterValues)
        : 0,
    qhat,
  };
}

/** Otava's first-pass threshold: 10 × max_pvalue below 0.05, 2 × below 0.5. */
export function weakPValueFor(maxPValue: number): number {
  if (maxPValue < 0.05) return maxPValue * 10;
  if (maxPValue < 0.5) return maxPValue * 2;
  return maxPValue;
}

/**
 * Robust relative noise sd of nightly values from successive ratios inside each run of nights
 * (never across two runs), or undefined with fewer than 2 ratios.
 */
export function relativeNoiseSd(runs: readonly (readonly number[])[]): number | undefined {
  const ratios: number[] = [];
  for (const values of runs) {
    for (let i = 1; i < values.length; i++) {
      if (values[i - 1] !== 0) ratios.push(Math.abs(values[i]! / values[i - 1]! - 1));
    }
  }
  return ratios.length < 2 ? undefined : Math.sqrt(madVariance(ratios) / 2);
}
