import jstat from "jstat";

/**
 * The statistical distributions, from jstat (checked against SciPy in the tests). All of the
 * project's distribution calls go through here so the backend can be swapped in one place.
 * Tail probabilities are computed as survival functions, never as 1 - cdf: that difference is
 * 0 below about 1e-16, and a p-value of 1e-30 must not print as 0.
 */
// jstat is CommonJS: its module.exports carries jStat.
const { jStat } = jstat;

/** P(T > t) for t >= 0, from the regularized incomplete beta function (exact in the tail). */
export function studentTSf(t: number, df: number): number {
  if (t < 0) return 1 - studentTSf(-t, df);
  return 0.5 * jStat.ibeta(df / (df + t * t), df / 2, 0.5);
}

/** The t value below which probability `p` lies. */
export function studentTQuantile(p: number, df: number): number {
  return jStat.studentt.inv(p, df);
}

/**
 * erfc(x) for x > 3 by its continued fraction (modified Lentz), accurate to double precision
 * in the tail, where jstat's erfc (1 - erf) has lost every digit.
 */
function erfcTail(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (f * Math.sqrt(Math.PI));
}

/** P(Z > z) for the standard normal. */
export function normalSf(z: number): number {
  const x = z / Math.SQRT2;
  if (x > 3) return 0.5 * erfcTail(x);
  return 0.5 * jStat.erfc(x);
}

/** The p quantile of Beta(a, b) (for Clopper-Pearson intervals of measured rates). */
export function betaQuantile(p: number, a: number, b: number): number {
  return jStat.beta.inv(p, a, b);
}
