import { expect } from "chai";
import {
  studentFromMoments,
  studentTwoSidedP,
  welchFromMoments,
} from "../../../src/core/stats/t-from-moments.js";

/** Reference values from SciPy 1.17.1 (2 * stats.t.sf(|t|, df), ttest_ind). */
const T_TABLE: [number, number, number][] = [
  [2.0, 10, 0.07338803477074037],
  [3.0, 5, 0.030099247897462586],
  [0.5, 1, 0.7048327646991335],
  [4.5, 31, 8.952116231528376e-5],
  [1.2, 2.5, 0.3314388376658776],
  [10, 3, 0.0021283990584141503],
  [6, 100, 3.172491502802852e-8],
  [3.7, 33, 0.0007815388896819646],
  [0, 7, 1],
];

function moments(values: readonly number[]): [number, number, number] {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return [values.length, mean, values.reduce((a, v) => a + (v - mean) ** 2, 0)];
}

describe("t-tests from moments", () => {
  it("two-sided Student t p-values match SciPy", () => {
    for (const [t, df, p] of T_TABLE) {
      expect(studentTwoSidedP(t, df), `t=${t} df=${df}`).to.be.closeTo(p, p * 1e-7 + 1e-15);
      expect(studentTwoSidedP(-t, df)).to.be.closeTo(p, p * 1e-7 + 1e-15);
    }
    expect(studentTwoSidedP(Infinity, 3)).to.equal(0);
    expect(studentTwoSidedP(NaN, 3)).to.equal(1);
  });

  it("Student and Welch two-sample tests match SciPy's ttest_ind", () => {
    const a = [10, 11, 9.5, 10.2, 10.8, 9.9];
    const b = [12, 11.5, 12.4];
    const student = studentFromMoments(...moments(a), ...moments(b));
    expect(student.t).to.be.closeTo(-4.5632096476305835, 1e-12);
    expect(student.df).to.equal(7);
    expect(student.p).to.be.closeTo(0.002594989510645258, 1e-12);
    const welch = welchFromMoments(...moments(a), ...moments(b));
    expect(welch.t).to.be.closeTo(-4.971582866395831, 1e-12);
    expect(welch.df).to.be.closeTo(5.138814226805186, 1e-9);
    expect(welch.p).to.be.closeTo(0.003899985176776736, 1e-10);
  });

  it("a variance floor widens the test; no variance at all decides by the means", () => {
    const narrow = studentFromMoments(5, 10, 0.01, 5, 10.1, 0.01);
    const floored = studentFromMoments(5, 10, 0.01, 5, 10.1, 0.01, true, 1);
    expect(floored.p).to.be.greaterThan(narrow.p);
    expect(studentFromMoments(3, 1, 0, 3, 1, 0).p).to.equal(1);
    expect(studentFromMoments(3, 1, 0, 3, 2, 0).p).to.equal(0);
  });
});
