import jstat from "jstat";

/**
 * The statistical distributions, from jstat (checked against SciPy in the tests). All of the
 * project's distribution calls go through here so the backend can be swapped in one place.
 */
// jstat is CommonJS: its module.exports carries jStat.
const { jStat } = jstat;

/** P(T <= t) for Student's t with (possibly fractional) `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  return jStat.studentt.cdf(t, df);
}

/** The t value below which probability `p` lies. */
export function studentTQuantile(p: number, df: number): number {
  return jStat.studentt.inv(p, df);
}

export function normalCdf(z: number): number {
  return jStat.normal.cdf(z, 0, 1);
}
