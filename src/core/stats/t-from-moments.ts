import { studentTSf } from "./distributions.js";

/**
 * Two-sample t-tests from each side's size, mean and sum of squared deviations, so a caller
 * holding prefix sums (the history's change point detector) tests any range in O(1). The
 * distribution comes from distributions.ts (jstat).
 */
export interface TTestResult {
  readonly t: number;
  readonly df: number;
  /** Two-sided p-value. */
  readonly p: number;
}

/** Two-sided P(|T| > |t|); an infinite t gives 0, NaN gives 1. */
export function studentTwoSidedP(t: number, df: number): number {
  if (Number.isNaN(t) || df <= 0) return 1;
  if (!Number.isFinite(t)) return 0;
  return Math.min(1, 2 * studentTSf(Math.abs(t), df));
}

/**
 * Student's t (pooled variance). Identical means with no variance give p = 1, different ones
 * p = 0. `withP` false skips the p-value (NaN) where only t is needed; `varianceFloor` is a lower
 * bound for the pooled variance.
 */
export function studentFromMoments(
  n1: number,
  mean1: number,
  ss1: number,
  n2: number,
  mean2: number,
  ss2: number,
  withP = true,
  varianceFloor = 0,
): TTestResult {
  const df = n1 + n2 - 2;
  if (n1 === 0 || n2 === 0 || df <= 0) return { t: 0, df: Math.max(df, 0), p: 1 };
  const se = Math.sqrt(Math.max((ss1 + ss2) / df, varianceFloor) * (1 / n1 + 1 / n2));
  if (se === 0) return { t: mean1 === mean2 ? 0 : Infinity, df, p: mean1 === mean2 ? 1 : 0 };
  const t = (mean1 - mean2) / se;
  return { t, df, p: withP ? studentTwoSidedP(t, df) : NaN };
}

/** Welch's t (unequal variances) from the same moments. */
export function welchFromMoments(
  n1: number,
  mean1: number,
  ss1: number,
  n2: number,
  mean2: number,
  ss2: number,
): TTestResult {
  if (n1 < 2 || n2 < 2) return { t: 0, df: 0, p: 1 };
  const vx = ss1 / (n1 - 1) / n1;
  const vy = ss2 / (n2 - 1) / n2;
  const se = Math.sqrt(vx + vy);
  if (se === 0) return { t: 0, df: n1 + n2 - 2, p: mean1 === mean2 ? 1 : 0 };
  const df = (vx + vy) ** 2 / (vx ** 2 / (n1 - 1) + vy ** 2 / (n2 - 1));
  const t = (mean1 - mean2) / se;
  return { t, df, p: studentTwoSidedP(t, df) };
}
