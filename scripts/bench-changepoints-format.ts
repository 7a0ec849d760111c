/** Rates with intervals, medians with intervals: the numbers `bench:changepoints` prints. */
import { clopperPearson } from "../src/core/stats/rates.js";

export function pct(x: number, digits = 0): string {
  return `${(100 * x).toFixed(digits)} %`;
}

export function rate(k: number, n: number, digits = 0): string {
  const [lo, hi] = clopperPearson(k, n).ci95;
  return `${pct(k / n, digits)} (${(100 * lo).toFixed(digits)}–${(100 * hi).toFixed(digits)})`;
}

export function per100(k: number, n: number): string {
  const [lo, hi] = clopperPearson(k, n).ci95;
  return `${((100 * k) / n).toFixed(2)} (${(100 * lo).toFixed(2)}–${(100 * hi).toFixed(2)})`;
}

/** Median and a distribution-free 95 % interval for it (order statistics, normal approx.). */
export function medianWithInterval(values: readonly number[]): string {
  if (values.length === 0) return "–";
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const half = (1.96 * Math.sqrt(n)) / 2;
  const lo = sorted[Math.max(0, Math.floor(n / 2 - half))]!;
  const hi = sorted[Math.min(n - 1, Math.ceil(n / 2 + half))]!;
  const median = sorted[Math.floor((n - 1) / 2)]!;
  return `${median} (${lo}–${hi})`;
}

export function quantile(values: readonly number[], q: number): string {
  if (values.length === 0) return "–";
  const sorted = [...values].sort((a, b) => a - b);
  return String(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
}
