/**
 * `npm run bench:verdicts`: measures compare's own statistics by simulation, through the real
 * compare code (buildComparison, applyGates) on synthetic cells shaped like `run`'s results:
 * boots of iterations, with noise between boots and within them. Prints the false-positive rate,
 * the regression gate's false-alarm and undecided rates, power, and the coverage of the delta's
 * 95 % CI, each with its 95 % Clopper-Pearson interval. REPS=2000 by default (about 10 s).
 */
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { buildComparison, type CellData } from "../src/core/compare/compare-model.js";
import { applyGates } from "../src/core/compare/gates.js";
import type { Sample } from "../src/core/results-format/sample.js";
import { defaultRounds } from "../src/core/plan/plan-defaults.js";
import { clopperPearson, formatRate } from "../src/core/stats/rates.js";

const REPS = Number(process.env["REPS"] ?? 2000);
const rng = xoroshiro128plus(20261201);
const uniform = (): number => (uniformInt(rng, 0, 2 ** 30 - 1) + 0.5) / 2 ** 30;
/** Box-Muller: one standard normal variate. */
function normal(): number {
  return Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** How one side's values arise. */
interface Noise {
  readonly kind: "normal" | "lognormal";
  /** Relative sd between boots (a boot's own level) and within a boot. */
  readonly bootSd: number;
  readonly withinSd: number;
}

interface Layout {
  readonly boots: number;
  readonly perBoot: number;
}

function values(mean: number, noise: Noise, layout: Layout): number[][] {
  return Array.from({ length: layout.boots }, () => {
    const level =
      noise.kind === "normal" ? 1 + noise.bootSd * normal() : Math.exp(noise.bootSd * normal());
    return Array.from({ length: layout.perBoot }, () => {
      const within =
        noise.kind === "normal"
          ? 1 + noise.withinSd * normal()
          : Math.exp(noise.withinSd * normal());
      return Number((mean * level * within).toFixed(2));
    });
  });
}

function cell(kernel: string, boots: number[][]): CellData {
  const samples: Sample[] = boots.flatMap((vs, b) =>
    vs.map((value, i) => ({
      schema: 1,
      cell: `${kernel}__c__w`,
      kernel,
      config: "c",
      workload: "w",
      iteration: b * vs.length + i + 1,
      warmup: false,
      startedAt: "",
      wallMs: 0,
      settle: { method: "none" },
      counters: { "task-clock": { status: "counted", value, unit: "msec" } },
      round: b + 1,
      boot: `${kernel}-r${b + 1}`,
    })),
  );
  return {
    source: "sim",
    id: `${kernel}__c__w`,
    kernel,
    config: "c",
    workload: "w",
    samples,
    environment: { accelerator: "kvm", qemuVersion: "10.0", cpuModel: "sim" },
    unnegotiatedBits: [],
  };
}

interface Condition {
  readonly name: string;
  readonly layout: Layout;
  readonly baseline: { mean: number; noise: Noise };
  readonly candidate: { mean: number; noise: Noise };
}

interface Tally {
  flagged: number;
  rightSign: number;
  wrongSign: number;
  gateFailed: number;
  gateUndecided: number;
  covered: number;
  tested: number;
}

function simulate(condition: Condition): Tally {
  const truth = 100 * (condition.candidate.mean / condition.baseline.mean - 1);
  // For lognormal noise the mean of a side is exp(sigma^2/2) above its median: the same on both
  // sides when their sigmas match, which the conditions keep (except the cover letter's).
  const meanFactor = (n: Noise): number =>
    n.kind === "lognormal" ? Math.exp((n.bootSd ** 2 + n.withinSd ** 2) / 2) : 1;
  const trueDelta =
    100 *
    ((condition.candidate.mean * meanFactor(condition.candidate.noise)) /
      (condition.baseline.mean * meanFactor(condition.baseline.noise)) -
      1);
  const tally: Tally = {
    flagged: 0,
    rightSign: 0,
    wrongSign: 0,
    gateFailed: 0,
    gateUndecided: 0,
    covered: 0,
    tested: 0,
  };
  for (let rep = 0; rep < REPS; rep++) {
    const a = cell(
      "base",
      values(condition.baseline.mean, condition.baseline.noise, condition.layout),
    );
    const b = cell(
      "cand",
      values(condition.candidate.mean, condition.candidate.noise, condition.layout),
    );
    const report = buildComparison([a, b]);
    const c = report.comparisons[0];
    if (c === undefined) continue;
    const gates = applyGates(report, { failOnRegressionPct: 5 });
    if (c.verdict === "regression" || c.verdict === "improvement") {
      tally.flagged += 1;
      const better = c.verdict === "improvement";
      if (truth !== 0 && better === truth < 0) tally.rightSign += 1;
      else if (truth !== 0) tally.wrongSign += 1;
    }
    if (gates.status === "failed") tally.gateFailed += 1;
    if (gates.status === "undecided") tally.gateUndecided += 1;
    if (c.deltaCi95 !== null) {
      tally.tested += 1;
      if (c.deltaCi95[0] <= trueDelta && trueDelta <= c.deltaCi95[1]) tally.covered += 1;
    }
  }
  return tally;
}

const normalNoise = (bootSd: number, withinSd: number): Noise => ({
  kind: "normal",
  bootSd,
  withinSd,
});
const aa = (name: string, layout: Layout, noise: Noise): Condition => ({
  name,
  layout,
  baseline: { mean: 1000, noise },
  candidate: { mean: 1000, noise },
});
const effect = (name: string, layout: Layout, noise: Noise, pct: number): Condition => ({
  name,
  layout,
  baseline: { mean: 1000, noise },
  candidate: { mean: 1000 * (1 + pct / 100), noise },
});

/** The default layout of `run`: `iterations` spread over defaultRounds(iterations) boots. */
const defaultLayout = (iterations: number): Layout => {
  const boots = defaultRounds(iterations);
  return { boots, perBoot: Math.ceil(iterations / boots) };
};

const aaConditions: Condition[] = [
  aa("independent, normal CoV 5 %, default layout n=10", defaultLayout(10), normalNoise(0, 0.05)),
  aa("independent, lognormal sigma 0.3, default n=10", defaultLayout(10), {
    kind: "lognormal",
    bootSd: 0,
    withinSd: 0.3,
  }),
  aa("boot 3 % + within 3 %, default n=10 (10x1)", defaultLayout(10), normalNoise(0.03, 0.03)),
  aa("boot 6 % + within 3 %, default n=10 (10x1)", defaultLayout(10), normalNoise(0.06, 0.03)),
  aa("boot 9 % + within 3 %, default n=10 (10x1)", defaultLayout(10), normalNoise(0.09, 0.03)),
  aa("boot 9 % + within 3 %, default n=20 (10x2)", defaultLayout(20), normalNoise(0.09, 0.03)),
  aa("boot 6 % + within 3 %, 5 boots x 2", { boots: 5, perBoot: 2 }, normalNoise(0.06, 0.03)),
  aa("boot 6 % + within 3 %, 5 boots x 5", { boots: 5, perBoot: 5 }, normalNoise(0.06, 0.03)),
  aa("boot 9 % + within 3 %, 3 boots x 5", { boots: 3, perBoot: 5 }, normalNoise(0.09, 0.03)),
  aa("tiny noise 0.5 %, default n=20", defaultLayout(20), normalNoise(0.003, 0.004)),
];

const effectConditions: Condition[] = [
  effect(
    "-5 %, boot 3 % + within 3 %, default n=10",
    defaultLayout(10),
    normalNoise(0.03, 0.03),
    -5,
  ),
  effect(
    "-5 %, boot 3 % + within 3 %, 5 boots x 2",
    { boots: 5, perBoot: 2 },
    normalNoise(0.03, 0.03),
    -5,
  ),
  effect(
    "-10 %, boot 6 % + within 3 %, default n=10",
    defaultLayout(10),
    normalNoise(0.06, 0.03),
    -10,
  ),
  effect(
    "-10 %, boot 6 % + within 3 %, 5 boots x 2",
    { boots: 5, perBoot: 2 },
    normalNoise(0.06, 0.03),
    -10,
  ),
  effect(
    "+10 %, boot 6 % + within 3 %, default n=10",
    defaultLayout(10),
    normalNoise(0.06, 0.03),
    10,
  ),
  effect(
    "-20 %, boot 9 % + within 3 %, default n=10",
    defaultLayout(10),
    normalNoise(0.09, 0.03),
    -20,
  ),
  effect(
    "+0.5 % (under the 2 % minimum effect), noise 0.5 %, n=20",
    defaultLayout(20),
    normalNoise(0.003, 0.004),
    0.5,
  ),
  {
    // The cover letter's 232 +- 20 ms -> 51 +- 26 ms (lognormal, sd matched per side).
    name: "cover letter 232+-20 -> 51+-26 ms, default n=10",
    layout: defaultLayout(10),
    baseline: { mean: 232, noise: { kind: "lognormal", bootSd: 0.06, withinSd: 0.06 } },
    candidate: { mean: 51, noise: { kind: "lognormal", bootSd: 0.34, withinSd: 0.34 } },
  },
];

function row(cells: readonly string[], widths: readonly number[]): string {
  return `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
}

function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((_, i) =>
    Math.max(...[header, ...rows].map((r) => (r[i] ?? "").length)),
  );
  console.log(`\n${title}\n`);
  console.log(row(header, widths));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows) console.log(row(r, widths));
}

const started = Date.now();
printTable(
  `A/A (no true change), ${REPS} repetitions each; rates in %, [95 % Clopper-Pearson]`,
  [
    "condition",
    "flagged (regression/improvement)",
    "gate --fail-on-regression 5 failed",
    "gate undecided",
    "CI coverage",
  ],
  aaConditions.map((c) => {
    const t = simulate(c);
    return [
      c.name,
      formatRate(clopperPearson(t.flagged, REPS)),
      formatRate(clopperPearson(t.gateFailed, REPS)),
      formatRate(clopperPearson(t.gateUndecided, REPS)),
      formatRate(clopperPearson(t.covered, t.tested)),
    ];
  }),
);
printTable(
  `Known effects, ${REPS} repetitions each`,
  [
    "condition",
    "right-sign verdict (power)",
    "wrong-sign verdict",
    "gate --fail-on-regression 5 failed",
    "CI coverage",
  ],
  effectConditions.map((c) => {
    const t = simulate(c);
    return [
      c.name,
      formatRate(clopperPearson(t.rightSign, REPS)),
      formatRate(clopperPearson(t.wrongSign, REPS)),
      formatRate(clopperPearson(t.gateFailed, REPS)),
      formatRate(clopperPearson(t.covered, t.tested)),
    ];
  }),
);
console.log(`\n(${((Date.now() - started) / 1000).toFixed(1)} s)`);
