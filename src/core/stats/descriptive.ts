import { studentTQuantile } from "./distributions.js";

export interface Descriptive {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n - 1); 0 for a single value. */
  readonly sd: number;
  /** Coefficient of variation, sd / |mean|. */
  readonly cov: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** 95 % confidence interval of the mean (Student's t); [mean, mean] below 2 values. */
  readonly ci95: readonly [number, number];
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function variance(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

export function describe(values: readonly number[]): Descriptive {
  if (values.length === 0) throw new RangeError("no values to describe");
  const n = values.length;
  const m = mean(values);
  const sd = Math.sqrt(variance(values));
  const half = n < 2 ? 0 : studentTQuantile(0.975, n - 1) * (sd / Math.sqrt(n));
  return {
    n,
    mean: m,
    sd,
    cov: m === 0 ? NaN : sd / Math.abs(m),
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    ci95: [m - half, m + half],
  };
}
