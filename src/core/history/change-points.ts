/**
 * Change points in one series of nightly values: E-divisive (Matteson & James 2014) with the
 * "Hunter" changes Apache Otava uses (Fleming et al., ICPE 2023; otava/analysis.py):
 *
 *   1. split: slide a window of `windowLength` nights over the series in steps of half a window;
 *      inside each window repeatedly take the split (τ, κ) that maximizes the energy-divergence
 *      statistic Q̂(X = Z[s:τ], Y = Z[τ:κ]) over the intervals between the change points found so
 *      far, and keep it while a t-test of the two sides gives p ≤ 10 × maxPValue ("weak" points);
 *   2. merge: recompute every weak point's test against its neighbouring points over the whole
 *      series, then repeatedly drop the weakest point (largest p at or above maxPValue, else the
 *      smallest relative magnitude not above minMagnitude), recomputing the rest, until every point
 *      left has p < maxPValue and a magnitude above minMagnitude.
 *
 * Differences from Otava, each measured with `npm run bench:changepoints`:
 *   - `minSegment` (like R ecp's `min.size`): both sides of every split have at least this many
 *     nights while searching and testing, so one odd night can never be a segment of its own
 *     (Otava reports a pair of change points around an outlier night);
 *   - one night cannot make a change: the magnitude is the smallest of the mean-based, the
 *     median-based and the leave-the-most-extreme-night-out estimate (robustMagnitude), and the
 *     t-test must still give p < 10 × maxPValue without that night (withoutExtremeP);
 *   - every t-test's pooled variance is at least the series' robust noise variance (from the
 *     MAD of successive differences; across a split, from the whole series), so two short quiet
 *     segments cannot look significant;
 *   - 3. location: each change point is moved, within ± minSegment nights, to the split with the
 *     largest |t| (least squares), the newest segment down to 2 nights, so that a large step is
 *     reported at its own night as soon as it is significant (see refine);
 *   - the merge step recomputes both neighbours of a removed point (Otava recomputes the point
 *     after it and the one after that), and uses sample standard deviations (n − 1; Otava passes
 *     numpy's population sd to SciPy).
 *
 * Pure: numbers in, numbers out.
 */
import { Distances, detectInWindow } from "./e-divisive.js";
import {
  describeChange,
  makeInput,
  noiseVariance,
  studentOnRanges,
  weakPValueFor,
  type Input,
} from "./segment-tests.js";

export { relativeNoiseSd, weakPValueFor } from "./segment-tests.js";

export type SignificanceTest = "student-nights" | "welch-boots";

export interface DetectorOptions {
  /** Nights per sliding window of the split step (Otava: window_len). */
  readonly windowLength: number;
  /** A change point needs p below this (Otava: max_pvalue). */
  readonly maxPValue: number;
  /** ... and a relative change above this, e.g. 0.02 = 2 % (Otava: min_magnitude). */
  readonly minMagnitude: number;
  /** Nights on each side of a change point, at least (R ecp: min.size). */
  readonly minSegment: number;
  /**
   * What the t-test compares: the nightly values (Student, pooled variance: Otava's test), or
   * every boot of the nights on each side (Welch). The benchmark shows why the default is the first:
   * boots of one night share that night's conditions, so pooling them overstates the evidence.
   */
  readonly test: SignificanceTest;
}

/**
 * The defaults, tuned with `node --import tsx scripts/bench-changepoints.ts --tuning` on real-like
 * noise (5 boots × 2 iterations, boot sd 3-6 %, within-boot sd 2-3 %), 300 histories per setting,
 * the same histories for every setting. False alerts per 100 nights / 5 % steps found within 5
 * nights:
 *   - maxPValue 0.01: 0.70 / 92 %. 0.005: 0.47 / 87 %; 0.02: 1.11 / 95 %. Otava's 0.001 (window
 *     50, no magnitude): 0.18 / 79 %. A night is already the mean of ~5 boots, and the split step
 *     picks the most divergent split, so p is optimistic: false alerts are measured, not assumed.
 *   - minMagnitude 0.025: 0.02 gave 0.94 / 92 %, no detection for a third more false alerts.
 *   - minSegment 3: 4 gave 0.52 / 91 %, 2 gave 0.83 / 92 % (and 88 % under a night effect).
 *   - windowLength 40: 30 and 50 measured the same (0.70 / 92 %, 0.68 / 92 %); 40 nights is about
 *     the history one release cycle of nightly runs gives.
 * (Tuned on the first version's generator; with the current one, pure-rand's Mersenne Twister,
 * `npm run bench:changepoints` measures the defaults at 0.74 / 93 %, see README.md.)
 */
export const DEFAULT_DETECTOR_OPTIONS: DetectorOptions = {
  windowLength: 40,
  maxPValue: 0.01,
  minMagnitude: 0.025,
  minSegment: 3,
  test: "student-nights",
};

export interface SegmentStats {
  /** Nights in the segment. */
  readonly n: number;
  readonly mean: number;
  readonly median: number;
  /** Sample sd of the nightly values (0 below 2 nights). */
  readonly sd: number;
}

export interface DetectedChange {
  /** 0-based index of the first night at the new level. */
  readonly index: number;
  /** The nights from the previous change point (or the start) up to this one, and after it. */
  readonly before: SegmentStats;
  readonly after: SegmentStats;
  readonly t: number;
  readonly df: number;
  readonly p: number;
  /** The same test without the newer side's most extreme night (must stay below 10 × maxP). */
  readonly pWithoutExtreme: number;
  /** Relative change after / before − 1 of the means. */
  readonly relativeChange: number;
  /**
   * The robust magnitude the minMagnitude filter uses (robustMagnitude); 0 when the change
   * hinges on one night (pWithoutExtreme at or above the weak threshold).
   */
  readonly magnitude: number;
  /** The energy statistic that picked it. */
  readonly qhat: number;
}

function neighbours(
  points: readonly { index: number }[],
  i: number,
  n: number,
): { from: number; to: number } {
  return {
    from: i === 0 ? 0 : points[i - 1]!.index,
    to: i + 1 === points.length ? n : points[i + 1]!.index,
  };
}

/**
 * Point i as a change between its neighbours; `index` tries it at another night of the same
 * window (refine), so a moved point is judged exactly as it will be described once moved.
 */
function describeAt(
  input: Input,
  points: readonly { index: number; qhat: number }[],
  i: number,
  options: DetectorOptions,
  minSide?: number,
  index: number = points[i]!.index,
): DetectedChange {
  const { from, to } = neighbours(points, i, input.n);
  return describeChange(
    input,
    index,
    points[i]!.qhat,
    [from, index],
    [index, to],
    options,
    minSide,
  );
}

function passes(change: DetectedChange, options: DetectorOptions): boolean {
  return change.p < options.maxPValue && change.magnitude > options.minMagnitude;
}

/** The first change that `worse` puts above all others, starting from (and ties kept at) `from`. */
function worstIndex(
  changes: readonly DetectedChange[],
  from: number,
  worse: (a: DetectedChange, b: DetectedChange) => boolean,
): number {
  let worst = from;
  changes.forEach((c, i) => {
    if (worse(c, changes[worst]!)) worst = i;
  });
  return worst;
}

/**
 * The change the merge step drops next: the largest p when it is at or above maxPValue, else the
 * smallest magnitude when it is not above minMagnitude; undefined when every change passes both.
 */
function weakestChange(
  changes: readonly DetectedChange[],
  options: DetectorOptions,
): number | undefined {
  const byP = worstIndex(changes, 0, (a, b) => a.p > b.p);
  // `!(p < maxPValue)`, not `p >= maxPValue`: a NaN p must fail the test and be dropped.
  if (!(changes[byP]!.p < options.maxPValue)) return byP;
  const byMagnitude = worstIndex(changes, byP, (a, b) => a.magnitude < b.magnitude);
  return changes[byMagnitude]!.magnitude > options.minMagnitude ? undefined : byMagnitude;
}

/** Nights the newest segment may have once a change point is placed (see `refine`). */
const MIN_TAIL = 2;

/**
 * Places each change point, within ± minSegment nights of where E-divisive put it, at the split
 * with the largest |t| (the least-squares location of a mean shift), keeping the move only when
 * the change still passes both criteria. The newest segment may shrink to MIN_TAIL nights here:
 * a large step is significant two nights after it arrives, when a split with minSegment nights
 * after it can only sit before the step, and the night reported must be the step's night.
 */
function refine(
  input: Input,
  points: { index: number; qhat: number }[],
  changes: DetectedChange[],
  options: DetectorOptions,
): void {
  const n = input.n;
  for (let i = 0; i < points.length; i++) {
    const point = points[i]!;
    const { from, to } = neighbours(points, i, n);
    const minRight = to === n ? MIN_TAIL : options.minSegment;
    const lo = Math.max(from + options.minSegment, point.index - options.minSegment);
    const hi = Math.min(to - minRight, point.index + options.minSegment);
    let best = { index: point.index, t: -1 };
    for (let tau = lo; tau <= hi; tau++) {
      const t = Math.abs(studentOnRanges(input, [from, tau], [tau, to], false).t);
      if (t > best.t) best = { index: tau, t };
    }
    if (best.index === point.index) continue;
    if (!passes(describeAt(input, points, i, options, MIN_TAIL, best.index), options)) continue;
    points[i] = { index: best.index, qhat: point.qhat };
  }
  for (let i = 0; i < points.length; i++)
    changes[i] = describeAt(input, points, i, options, MIN_TAIL);
}

export interface DetectionContext {
  /**
   * The relative noise sd known from elsewhere (the rest of the series across a split): the
   * variance floor is at least (relativeNoiseSd × level)², so a young segment's few nights do
   * not have to estimate the noise alone.
   */
  readonly relativeNoiseSd?: number;
}

/**
 * A detector over one series that can analyse any prefix of it (the history as it stood on an
 * earlier night) without rebuilding its sums: what the gate and the benchmark replay. `boots[i]`
 * are night i's boot means (used only by the "welch-boots" test). Values must be finite.
 */
export function seriesDetector(
  values: readonly number[],
  options: DetectorOptions = DEFAULT_DETECTOR_OPTIONS,
  boots?: readonly (readonly number[])[],
): (nights: number, context?: DetectionContext) => DetectedChange[] {
  if (!Number.isInteger(options.minSegment) || options.minSegment < 2) {
    throw new RangeError("minSegment must be an integer of at least 2");
  }
  if (!Number.isInteger(options.windowLength) || options.windowLength < 2 * options.minSegment) {
    throw new RangeError("windowLength must be an integer of at least 2 × minSegment");
  }
  if (values.some((v) => !Number.isFinite(v))) throw new RangeError("values must be finite");
  const full = makeInput(values, boots);
  const distances = new Distances(values);
  return (nights, context) => {
    const n = Math.min(nights, values.length);
    let floor = noiseVariance(values, n);
    if (context?.relativeNoiseSd !== undefined && n > 0) {
      const level = (full.sum[n]! / n + (values[0] ?? 0)) * context.relativeNoiseSd;
      floor = Math.max(floor, level * level);
    }
    return detect({ ...full, n, noiseVariance: floor }, distances, options);
  };
}

/** The change points of one series (see seriesDetector). */
export function detectChangePoints(
  values: readonly number[],
  options: DetectorOptions = DEFAULT_DETECTOR_OPTIONS,
  boots?: readonly (readonly number[])[],
): DetectedChange[] {
  return seriesDetector(values, options, boots)(values.length);
}

function detect(input: Input, distances: Distances, options: DetectorOptions): DetectedChange[] {
  const n = input.n;
  if (n < 2 * options.minSegment) return [];

  // 1. Split: weak change points from overlapping windows.
  const weakPValue = weakPValueFor(options.maxPValue);
  const step = Math.floor(options.windowLength / 2);
  const weak = new Map<number, number>();
  let start = 0;
  while (start < n) {
    const end = Math.min(start + options.windowLength, n);
    const found = detectInWindow(input, distances, start, end, weakPValue, options);
    for (const point of found) if (!weak.has(point.index)) weak.set(point.index, point.qhat);
    const last = found.length === 0 ? 0 : found[found.length - 1]!.index;
    start = Math.max(last, start + step);
  }

  // 2. Merge: drop the weakest until every point passes both criteria.
  const points = [...weak.entries()]
    .map(([index, qhat]) => ({ index, qhat }))
    .sort((a, b) => a.index - b.index);
  const changes = points.map((_, i) => describeAt(input, points, i, options));
  while (changes.length > 0) {
    const weakest = weakestChange(changes, options);
    if (weakest === undefined) break;
    points.splice(weakest, 1);
    changes.splice(weakest, 1);
    // Only the two neighbours of the removed point see other segments now.
    for (const i of [weakest - 1, weakest]) {
      if (i >= 0 && i < points.length) changes[i] = describeAt(input, points, i, options);
    }
  }

  // 3. Location.
  refine(input, points, changes, options);
  return changes;
}
