import { mean, variance } from "./descriptive.js";
import { normalSf, studentTSf, studentTQuantile } from "./distributions.js";

export interface WelchResult {
  readonly t: number;
  readonly df: number;
  /** Two-sided p-value. */
  readonly p: number;
  /** 95 % confidence interval of mean(b) - mean(a). */
  readonly diffCi95: readonly [number, number];
}

/** Welch's unequal-variances t-test of b against a (SciPy: ttest_ind(b, a, equal_var=False)). */
export function welchTTest(a: readonly number[], b: readonly number[]): WelchResult {
  const va = variance(a) / a.length;
  const vb = variance(b) / b.length;
  const diff = mean(b) - mean(a);
  const se = Math.sqrt(va + vb);
  if (se === 0) {
    return {
      t: diff === 0 ? 0 : Math.sign(diff) * Infinity,
      df: a.length + b.length - 2,
      p: diff === 0 ? 1 : 0,
      diffCi95: [diff, diff],
    };
  }
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const t = diff / se;
  const p = 2 * studentTSf(Math.abs(t), df);
  const half = studentTQuantile(0.975, df) * se;
  return { t, df, p: Math.min(1, p), diffCi95: [diff - half, diff + half] };
}

export interface MannWhitneyResult {
  /** U of the first sample (SciPy's convention: U1 for x = a). */
  readonly u: number;
  readonly p: number;
  readonly method: "exact" | "asymptotic";
}

function rank(values: readonly number[]): { ranks: number[]; tieTerm: number } {
  const order = values.map((v, i) => [v, i] as const).sort((x, y) => x[0] - y[0]);
  const ranks = new Array<number>(values.length);
  let tieTerm = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]?.[0] === order[i]?.[0]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]?.[1] ?? 0] = averageRank;
    const tied = j - i + 1;
    tieTerm += tied ** 3 - tied;
    i = j + 1;
  }
  return { ranks, tieTerm };
}

/** Number of ways to get U = u with sizes (m, n): the exact null distribution, by recursion. */
function exactUCounts(m: number, n: number): number[] {
  // counts[i][j][u] built bottom-up; f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u).
  let previous: number[][] = [];
  for (let i = 0; i <= m; i++) {
    const row: number[][] = [];
    for (let j = 0; j <= n; j++) {
      const counts = new Array<number>(i * j + 1).fill(0);
      if (i === 0 || j === 0) counts[0] = 1;
      else {
        const left = previous[j] ?? [];
        const down = row[j - 1] ?? [];
        for (let u = 0; u <= i * j; u++)
          counts[u] = (u - j >= 0 ? (left[u - j] ?? 0) : 0) + (down[u] ?? 0);
      }
      row.push(counts);
    }
    previous = row;
  }
  return previous[n] ?? [1];
}

/**
 * Two-sided Mann-Whitney U test, as SciPy's mannwhitneyu(a, b) with method "auto": exact when
 * either sample has at most 8 values and there are no ties, otherwise the normal approximation
 * with tie correction and continuity correction.
 */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): MannWhitneyResult {
  const m = a.length;
  const n = b.length;
  const { ranks, tieTerm } = rank([...a, ...b]);
  const r1 = ranks.slice(0, m).reduce((s, r) => s + r, 0);
  const u1 = r1 - (m * (m + 1)) / 2;
  const u2 = m * n - u1;
  const uBig = Math.max(u1, u2);
  if ((m <= 8 || n <= 8) && tieTerm === 0) {
    const counts = exactUCounts(m, n);
    const total = counts.reduce((s, c) => s + c, 0);
    // P(U >= uBig) by symmetry, doubled.
    let tail = 0;
    for (let u = Math.ceil(uBig); u < counts.length; u++) tail += counts[u] ?? 0;
    return { u: u1, p: Math.min(1, (2 * tail) / total), method: "exact" };
  }
  const total = m + n;
  const mu = (m * n) / 2;
  const sigma = Math.sqrt(((m * n) / 12) * (total + 1 - tieTerm / (total * (total - 1))));
  const z = (uBig - mu - 0.5) / sigma;
  return { u: u1, p: Math.min(1, 2 * normalSf(z)), method: "asymptotic" };
}

/** Holm's step-down adjustment (controls the family-wise error rate); returns adjusted p-values. */
export function holmAdjust(pValues: readonly number[]): number[] {
  const order = pValues.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const adjusted = new Array<number>(pValues.length);
  let running = 0;
  const k = pValues.length;
  order.forEach(([p, index], rankIndex) => {
    running = Math.max(running, Math.min(1, (k - rankIndex) * p));
    adjusted[index] = running;
  });
  return adjusted;
}
