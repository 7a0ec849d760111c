import { readFile } from "node:fs/promises";
import { expect } from "chai";
import { describe as describeValues } from "../../../src/core/stats/descriptive.js";
import { normalSf, studentTSf, studentTQuantile } from "../../../src/core/stats/distributions.js";
import { holmAdjust, mannWhitneyU, welchTTest } from "../../../src/core/stats/two-sample.js";
import { noiseFloor } from "../../../src/core/stats/noise-floor.js";

interface Reference {
  scipy: string;
  cases: Record<
    string,
    {
      a: number[];
      b: number[];
      welch: { t: number; df: number; p: number; diffCi95: [number, number] };
      mannWhitney: { u: number; p: number };
      describe: Record<
        "a" | "b",
        { mean: number; sd: number; median: number; ci95: [number, number] }
      >;
    }
  >;
  holm: { p: number[]; adjusted: number[] };
  noiseFloor: { cov: number; minDetectablePct: number };
  quantiles: Record<string, number>;
}

const reference = JSON.parse(
  await readFile(new URL("../../fixtures/stats/scipy-reference.json", import.meta.url), "utf8"),
) as Reference;

/** Equal to 4 significant digits. */
function expectSig4(actual: number, expected: number, what: string): void {
  const scale = Math.max(Math.abs(expected), Number.MIN_VALUE);
  expect(
    Math.abs(actual - expected) / scale,
    `${what}: ${actual} vs SciPy ${expected}`,
  ).to.be.lessThan(5e-5);
}

describe(`statistics against SciPy ${reference.scipy} references`, () => {
  it("distribution functions", () => {
    expectSig4(
      studentTQuantile(0.975, 3),
      reference.quantiles["t975_df3"] ?? NaN,
      "t quantile df 3",
    );
    expectSig4(
      studentTQuantile(0.975, 17.3),
      reference.quantiles["t975_df17.3"] ?? NaN,
      "t quantile df 17.3",
    );
    expectSig4(1 - studentTSf(2.1, 5.5), reference.quantiles["tcdf_2.1_df5.5"] ?? NaN, "t cdf");
    expectSig4(1 - normalSf(1.96), reference.quantiles["normcdf_1.96"] ?? NaN, "normal cdf");
  });

  for (const [name, c] of Object.entries(reference.cases)) {
    it(`case ${name}: descriptive statistics and 95 % CI of the mean`, () => {
      for (const side of ["a", "b"] as const) {
        const ours = describeValues(c[side]);
        const ref = c.describe[side];
        expectSig4(ours.mean, ref.mean, `${side} mean`);
        expectSig4(ours.sd, ref.sd, `${side} sd`);
        expectSig4(ours.median, ref.median, `${side} median`);
        expectSig4(ours.ci95[0], ref.ci95[0], `${side} ci low`);
        expectSig4(ours.ci95[1], ref.ci95[1], `${side} ci high`);
      }
    });

    it(`case ${name}: Welch's t-test and the CI of the difference`, () => {
      const ours = welchTTest(c.a, c.b);
      expectSig4(ours.t, c.welch.t, "t");
      expectSig4(ours.df, c.welch.df, "df");
      expectSig4(ours.p, c.welch.p, "p");
      expectSig4(ours.diffCi95[0], c.welch.diffCi95[0], "ci low");
      expectSig4(ours.diffCi95[1], c.welch.diffCi95[1], "ci high");
    });

    it(`case ${name}: Mann-Whitney U`, () => {
      const ours = mannWhitneyU(c.a, c.b);
      expectSig4(ours.u, c.mannWhitney.u, "U");
      expectSig4(ours.p, c.mannWhitney.p, "p");
    });
  }

  it("Holm's adjustment", () => {
    const ours = holmAdjust(reference.holm.p);
    ours.forEach((p, i) => expectSig4(p, reference.holm.adjusted[i] ?? NaN, `p[${i}]`));
  });

  it("noise floor of an A/A pair: pooled CoV and the minimal detectable delta", () => {
    const c = reference.cases["a-a"];
    if (c === undefined) throw new Error("reference case a-a missing");
    const ours = noiseFloor(c.a, c.b);
    expectSig4(ours.cov, reference.noiseFloor.cov, "cov");
    expectSig4(
      ours.minDetectablePct,
      reference.noiseFloor.minDetectablePct,
      "minimal detectable %",
    );
  });

  it("uses the exact Mann-Whitney distribution only for small samples without ties", () => {
    expect(mannWhitneyU([1, 2, 3], [4, 5, 6]).method).to.equal("exact");
    expect(mannWhitneyU([1, 2, 2], [4, 5, 6]).method).to.equal("asymptotic");
  });
});
