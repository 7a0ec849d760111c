import { readFileSync } from "node:fs";
import { expect } from "chai";
import {
  compareBootMeans,
  intraBootCorrelation,
  summarizeBoots,
} from "../../../src/core/stats/boot-level.js";
import { normalSf, studentTSf } from "../../../src/core/stats/distributions.js";
import { mannWhitneyU } from "../../../src/core/stats/two-sample.js";

interface Reference {
  tails: Record<string, number>;
  bootLevel: {
    a: number[][];
    b: number[][];
    ratio: { deltaPct: number; ci95: [number, number]; p: number; df: number };
    iccA: number;
    mannWhitney: number;
  };
}
const reference = JSON.parse(
  readFileSync(new URL("../../fixtures/stats/scipy-reference.json", import.meta.url), "utf8"),
) as Reference;

/** Relative agreement with SciPy (scripts/stats-reference.py computes these independently). */
function close(actual: number, expected: number, what: string, rel = 1e-9): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).to.be.at.most(
    rel * Math.abs(expected),
  );
}

describe("statistics with the boot as the unit (checked against SciPy)", () => {
  it("computes tail probabilities as survival functions, far below 1e-16", () => {
    close(studentTSf(40, 10), reference.tails["tsf_40_df10"] ?? NaN, "t sf 40", 1e-6);
    close(studentTSf(12, 30), reference.tails["tsf_12_df30"] ?? NaN, "t sf 12", 1e-6);
    close(normalSf(10), reference.tails["normsf_10"] ?? NaN, "normal sf 10", 1e-9);
    close(normalSf(30), reference.tails["normsf_30"] ?? NaN, "normal sf 30", 1e-9);
  });

  it("compares boot means on the log of the ratio of means, with Welch's degrees of freedom", () => {
    const groups = (g: number[][]) => g.map((values, i) => ({ boot: `b${i}`, values }));
    const a = summarizeBoots(groups(reference.bootLevel.a));
    const b = summarizeBoots(groups(reference.bootLevel.b));
    const test = compareBootMeans(a.bootMeans, b.bootMeans);
    const ref = reference.bootLevel.ratio;
    expect(test.method).to.equal("ratio");
    close(test.deltaPct ?? NaN, ref.deltaPct, "delta");
    close(test.ci95[0], ref.ci95[0], "CI low", 1e-7);
    close(test.ci95[1], ref.ci95[1], "CI high", 1e-7);
    close(test.df, ref.df, "df", 1e-9);
    close(test.p, ref.p, "p", 1e-6);
    close(mannWhitneyU(a.bootMeans, b.bootMeans).p, reference.bootLevel.mannWhitney, "MW", 1e-9);
  });

  it("computes the intra-boot correlation as ICC(1), and none without repeated iterations", () => {
    const groups = reference.bootLevel.a.map((values, i) => ({ boot: `b${i}`, values }));
    close(intraBootCorrelation(groups) ?? NaN, reference.bootLevel.iccA, "ICC", 1e-12);
    expect(
      intraBootCorrelation([
        { boot: "a", values: [1] },
        { boot: "b", values: [2] },
      ]),
    ).to.equal(null);
  });

  it("never gives a CI below -100 %, whatever the noise", () => {
    const test = compareBootMeans([100, 300, 50, 900], [1, 2, 40, 3]);
    expect(test.ci95[0]).to.be.above(-100);
  });
});
