import { mean, variance } from "./descriptive.js";
import { studentTQuantile } from "./distributions.js";

export interface NoiseFloor {
  /** Pooled coefficient of variation of the two A/A sides. */
  readonly cov: number;
  /** Samples per side. */
  readonly n: number;
  /**
   * Smallest true difference, in percent of the mean, that a two-sided two-sample t-test with n
   * samples per side detects with the given power: (t(1 - alpha/2) + t(power)) * sqrt(2/n) * CoV,
   * with 2n - 2 degrees of freedom.
   */
  readonly minDetectablePct: number;
}

/** Pure: the noise floor of a metric from an A/A experiment (same kernel and config twice). */
export function noiseFloor(
  a: readonly number[],
  b: readonly number[],
  alpha = 0.05,
  power = 0.8,
): NoiseFloor {
  const n = Math.min(a.length, b.length);
  const pooledSd = Math.sqrt(
    ((a.length - 1) * variance(a) + (b.length - 1) * variance(b)) / (a.length + b.length - 2),
  );
  const cov = pooledSd / Math.abs(mean([...a, ...b]));
  const df = a.length + b.length - 2;
  const factor = studentTQuantile(1 - alpha / 2, df) + studentTQuantile(power, df);
  return { cov, n, minDetectablePct: 100 * factor * Math.sqrt(2 / n) * cov };
}
