/**
 * The e-divisive split step (Matteson & James 2014): the energy statistic Q̂ from a 2-D prefix sum
 * of the distance matrix, and the significant splits inside one window. Pure.
 */
import type { DetectorOptions } from "./change-points.js";
import { test, type Input } from "./segment-tests.js";
/**
 * Σ over a block of |z_a − z_b|, from a 2-D prefix sum of the series' distance matrix (built once
 * per analysis; every window's sums are blocks of it).
 */
export class Distances {
  readonly prefix: Float64Array;
  readonly size: number;

  constructor(values: readonly number[]) {
    const n = values.length;
    this.size = n + 1;
    this.prefix = new Float64Array(this.size * this.size);
    for (let a = 0; a < n; a++) {
      let row = 0;
      for (let b = 0; b < n; b++) {
        row += Math.abs((values[a] ?? 0) - (values[b] ?? 0));
        this.prefix[(a + 1) * this.size + b + 1] = this.prefix[a * this.size + b + 1]! + row;
      }
    }
  }
}

/**
 * The split (τ, κ) of [start, end) maximizing Q̂ (α = 1) with both sides at least `minSegment`
 * long; ties go to the smallest τ, then κ (like numpy's argmax).
 */
function bestSplit(
  distances: Distances,
  start: number,
  end: number,
  minSegment: number,
): { index: number; qhat: number } | undefined {
  const p = distances.prefix;
  const w = distances.size;
  // Block sums Σ_{a0≤a<a1, b0≤b<b1} |z_a − z_b| from the 2-D prefix sum, written out (hot loop).
  const s0 = start * w;
  let bestIndex = -1;
  let bestQ = -Infinity;
  for (let tau = start + minSegment; tau <= end - minSegment; tau++) {
    const n = tau - start;
    const t0 = tau * w;
    const withinX = (p[t0 + tau]! - p[s0 + tau]! - p[t0 + start]! + p[s0 + start]!) / 2;
    for (let kappa = tau + minSegment; kappa <= end; kappa++) {
      const m = kappa - tau;
      const k0 = kappa * w;
      const between = p[t0 + kappa]! - p[s0 + kappa]! - p[t0 + tau]! + p[s0 + tau]!;
      const withinY = (p[k0 + kappa]! - p[t0 + kappa]! - p[k0 + tau]! + p[t0 + tau]!) / 2;
      const q =
        (2 / (n + m)) * between -
        ((2 * m) / ((n + m) * (n - 1))) * withinX -
        ((2 * n) / ((n + m) * (m - 1))) * withinY;
      if (q > bestQ) {
        bestQ = q;
        bestIndex = tau;
      }
    }
  }
  return bestIndex < 0 ? undefined : { index: bestIndex, qhat: bestQ };
}

/** Intervals [from, to) between sorted change point indexes over [start, end). */
function intervals(points: readonly number[], start: number, end: number): [number, number][] {
  const bounds = [start, ...points, end];
  const result: [number, number][] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const from = bounds[i]!;
    const to = bounds[i + 1]!;
    if (to > from) result.push([from, to]);
  }
  return result;
}

/** E-divisive inside one window: significant splits at the weak threshold, in index order. */
export function detectInWindow(
  input: Input,
  distances: Distances,
  start: number,
  end: number,
  weakPValue: number,
  options: DetectorOptions,
): { index: number; qhat: number }[] {
  const found: { index: number; qhat: number }[] = [];
  for (;;) {
    let candidate: { index: number; qhat: number; interval: [number, number] } | undefined;
    for (const interval of intervals(
      found.map((c) => c.index),
      start,
      end,
    )) {
      if (interval[1] - interval[0] < 2 * options.minSegment) continue;
      const split = bestSplit(distances, interval[0], interval[1], options.minSegment);
      if (split !== undefined && (candidate === undefined || split.qhat > candidate.qhat)) {
        candidate = { ...split, interval };
      }
    }
    if (candidate === undefined) break;
    const left: [number, number] = [candidate.interval[0], candidate.index];
    const right: [number, number] = [candidate.index, candidate.interval[1]];
    if (test(input, left, right, options).p > weakPValue) break;
    found.push({ index: candidate.index, qhat: candidate.qhat });
    found.sort((a, b) => a.index - b.index);
  }
  return found;
}
