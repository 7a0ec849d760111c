import { mean, median, variance } from "./descriptive.js";
import { studentTQuantile, studentTSf } from "./distributions.js";

/**
 * Statistics with the boot as the unit of replication. Iterations inside one boot share that
 * boot's page layout, THP availability and host placement, so they are not independent: a cell
 * is summarized by its boot means, and two cells are compared on them.
 */

/** One boot's counted values of a metric. */
export interface BootValues {
  readonly boot: string;
  readonly values: readonly number[];
}

export interface BootSummary {
  readonly boots: number;
  readonly iterations: number;
  readonly bootMeans: readonly number[];
  /** Mean of the boot means: each boot weighs the same, however many iterations it ran. */
  readonly mean: number;
  /** Standard deviation of the boot means (n - 1); NaN below two boots (reports print "n/a"). */
  readonly sdBoots: number;
  /** Standard deviation of all iterations around their mean, as the cover letter prints it; NaN below two. */
  readonly sdIterations: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Intra-boot correlation: the share of the variance that lies between boots; null when unknowable. */
  readonly icc: number | null;
}

/**
 * ICC(1) from a one-way ANOVA of iterations by boot, clipped to [0, 1]: (MSB - MSW) /
 * (MSB + (n0 - 1) MSW), n0 the adjusted mean boot size. Null when no boot ran two iterations
 * (nothing to tell within-boot from between-boot variation) or with fewer than two boots.
 */
export function intraBootCorrelation(groups: readonly BootValues[]): number | null {
  const used = groups.filter((g) => g.values.length > 0);
  const k = used.length;
  const total = used.reduce((s, g) => s + g.values.length, 0);
  if (k < 2 || total - k < 1) return null;
  const grand = mean(used.flatMap((g) => g.values));
  const msb =
    used.reduce((s, g) => s + g.values.length * (mean(g.values) - grand) ** 2, 0) / (k - 1);
  const msw =
    used.reduce((s, g) => {
      const m = mean(g.values);
      return s + g.values.reduce((a, v) => a + (v - m) ** 2, 0);
    }, 0) /
    (total - k);
  const n0 = (total - used.reduce((s, g) => s + g.values.length ** 2, 0) / total) / (k - 1);
  const denominator = msb + (n0 - 1) * msw;
  if (denominator <= 0) return msb > 0 ? 1 : 0;
  return Math.min(1, Math.max(0, (msb - msw) / denominator));
}

export function summarizeBoots(groups: readonly BootValues[]): BootSummary {
  const used = groups.filter((g) => g.values.length > 0);
  if (used.length === 0) throw new RangeError("no boots with values");
  const bootMeans = used.map((g) => mean(g.values));
  const all = used.flatMap((g) => g.values);
  return {
    boots: used.length,
    iterations: all.length,
    bootMeans,
    mean: mean(bootMeans),
    sdBoots: bootMeans.length < 2 ? NaN : Math.sqrt(variance(bootMeans)),
    sdIterations: all.length < 2 ? NaN : Math.sqrt(variance(all)),
    median: median(all),
    min: Math.min(...all),
    max: Math.max(...all),
    icc: intraBootCorrelation(used),
  };
}

/** A comparison of candidate boot means against baseline boot means. */
export interface BootComparison {
  /** "ratio": on the log of the ratio of means; "difference": means <= 0, no ratio exists. */
  readonly method: "ratio" | "difference";
  /** 100 (b/a - 1); null for the difference method. */
  readonly deltaPct: number | null;
  /** 95 % CI of deltaPct (never below -100 %), or of the difference for the difference method. */
  readonly ci95: readonly [number, number];
  /** mean(b) - mean(a), in the metric's unit. */
  readonly difference: number;
  /** Two-sided p-value; from the survival function of t, never 1 - cdf. */
  readonly p: number;
  readonly df: number;
  /** The standard error the CI was built from (of the log ratio, or of the difference). */
  readonly se: number;
  /** Both sides identical within themselves: no uncertainty, the difference is exact. */
  readonly exact: boolean;
}

interface Components {
  readonly estimate: number;
  readonly ua: number;
  readonly ub: number;
  readonly ka: number;
  readonly kb: number;
}

/** Welch-Satterthwaite: the t test of an estimate whose variance is ua + ub. */
function welchOn({ estimate, ua, ub, ka, kb }: Components): {
  p: number;
  df: number;
  half: number;
  se: number;
} {
  const se = Math.sqrt(ua + ub);
  const df = (ua + ub) ** 2 / (ua ** 2 / (ka - 1) + ub ** 2 / (kb - 1));
  const p = Math.min(1, 2 * studentTSf(Math.abs(estimate / se), df));
  return { p, df, half: studentTQuantile(0.975, df) * se, se };
}

/**
 * Pure: candidate boot means `b` against baseline boot means `a` (each side at least two boots).
 * With positive means, the ratio of means on the log scale (delta method, Welch degrees of
 * freedom): the CI accounts for the uncertainty of both means and cannot go below -100 %. With a
 * mean <= 0 (a count that was 0), Welch's test of the difference instead, with no percentage.
 */
export function compareBootMeans(a: readonly number[], b: readonly number[]): BootComparison {
  const [ma, mb] = [mean(a), mean(b)];
  const [ka, kb] = [a.length, b.length];
  const difference = mb - ma;
  const [va, vb] = [variance(a), variance(b)];
  if (va === 0 && vb === 0) {
    // Exact values: the ratio exists whenever the baseline is positive (a candidate of 0 is -100 %).
    const deltaPct = ma > 0 && mb >= 0 ? 100 * (mb / ma - 1) : null;
    const point = deltaPct ?? difference;
    return {
      method: deltaPct === null ? "difference" : "ratio",
      deltaPct,
      ci95: [point, point],
      difference,
      p: difference === 0 ? 1 : 0,
      df: ka + kb - 2,
      se: 0,
      exact: true,
    };
  }
  if (ma > 0 && mb > 0) {
    const estimate = Math.log(mb / ma);
    const t = welchOn({ estimate, ua: va / (ka * ma * ma), ub: vb / (kb * mb * mb), ka, kb });
    const pct = (x: number): number => 100 * (Math.exp(x) - 1);
    return {
      method: "ratio",
      deltaPct: pct(estimate),
      ci95: [pct(estimate - t.half), pct(estimate + t.half)],
      difference,
      p: t.p,
      df: t.df,
      se: t.se,
      exact: false,
    };
  }
  const t = welchOn({ estimate: difference, ua: va / ka, ub: vb / kb, ka, kb });
  return {
    method: "difference",
    deltaPct: null,
    ci95: [difference - t.half, difference + t.half],
    difference,
    p: t.p,
    df: t.df,
    se: t.se,
    exact: false,
  };
}

/**
 * How many boots per side the same noise would need for a CI half-width of `targetHalf` (in
 * the units of `currentHalf`): the half-width shrinks with the square root of the boots.
 */
export function bootsForHalfWidth(boots: number, currentHalf: number, targetHalf: number): number {
  if (!(targetHalf > 0) || !Number.isFinite(currentHalf)) return Number.POSITIVE_INFINITY;
  return Math.ceil(boots * (currentHalf / targetHalf) ** 2);
}
