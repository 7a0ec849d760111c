import { UsageError } from "../errors.js";
import { bootsForHalfWidth } from "../stats/boot-level.js";
import type { Comparison, ComparisonReport } from "./compare-model.js";
import { formatP } from "./format.js";

export interface GateOptions {
  /** Fail when a regression is beyond this many percent: see applyGates. */
  readonly failOnRegressionPct?: number | undefined;
  /** Pass only when each named metric improves by at least this many percent. */
  readonly expectImprovement?: readonly { metric: string; pct: number }[];
}

export type GateStatus = "passed" | "failed" | "undecided";

export interface GateResult {
  /** failed when any gate failed; else undecided when any could not decide; else passed. */
  readonly status: GateStatus;
  readonly passed: boolean;
  /** Per comparison index: why it failed a gate. */
  readonly failures: ReadonlyMap<number, string>;
  /** Per comparison index: why a gate could not decide (insufficient or inconclusive data). */
  readonly undecided: ReadonlyMap<number, string>;
}

export function parseExpectImprovement(value: string): { metric: string; pct: number } {
  const match = /^([A-Za-z0-9_.:/-]+):(\d+(?:\.\d+)?)%?$/.exec(value.trim());
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new UsageError(`malformed --expect-improvement '${value}'`, {
      hint: "write METRIC:PCT, e.g. task-clock:50",
    });
  }
  return { metric: match[1], pct: Number(match[2]) };
}

/** The CI of the change, oriented so that positive is worse (a slowdown for a time). */
function worseCi(c: Comparison): readonly [number, number] | null {
  if (c.deltaCi95 === null || c.method !== "ratio") return null;
  const [lo, hi] = c.deltaCi95;
  return c.direction === "lower" ? [lo, hi] : [-hi, -lo];
}

function where(c: Comparison): string {
  return `${c.metric} (${c.workload}, ${c.candidate.label} vs ${c.baseline.label})`;
}

function moreBoots(c: Comparison, ci: readonly [number, number], limit: number): string {
  const center = (ci[0] + ci[1]) / 2;
  const needed = bootsForHalfWidth(
    Math.min(c.baseline.boots, c.candidate.boots),
    (ci[1] - ci[0]) / 2,
    Math.abs(center - limit),
  );
  return Number.isFinite(needed) && needed <= 1000
    ? `; about ${needed} boots per side would decide it`
    : "";
}

type Outcome = { status: "passed" } | { status: "failed" | "undecided"; message: string };

/**
 * --fail-on-regression PCT asks "did it get worse by more than PCT %?", answered from the 95 %
 * CI: failed when the verdict is a regression and the whole CI is beyond PCT; passed when the
 * whole CI is below PCT; undecided otherwise (and when data are insufficient).
 */
function regressionGate(c: Comparison, pct: number): Outcome {
  if (c.verdict === "insufficient data")
    return { status: "undecided", message: `${where(c)}: ${c.reason}` };
  const ci = worseCi(c);
  if (ci === null) {
    if (c.verdict === "regression")
      return { status: "failed", message: `${where(c)} rose from a baseline of 0 (${c.reason})` };
    return c.verdict === "inconclusive"
      ? { status: "undecided", message: `${where(c)}: ${c.reason}` }
      : { status: "passed" };
  }
  const range = `[${ci[0].toFixed(1)} %, ${ci[1].toFixed(1)} %]`;
  if (c.verdict === "regression" && ci[0] > pct)
    return {
      status: "failed",
      message: `${where(c)} regressed by ${ci[0].toFixed(1)} % to ${ci[1].toFixed(1)} % (95 % CI), more than the allowed ${pct} % (p Holm ${formatP(c.pAdjusted)})`,
    };
  if (ci[1] <= pct) return { status: "passed" };
  return {
    status: "undecided",
    message: `${where(c)}: the change is within ${range} (worse is positive), which does not rule out a regression beyond ${pct} %${moreBoots(c, ci, pct)}`,
  };
}

/**
 * --expect-improvement METRIC:PCT asks "did it get better by at least PCT %?": passed when the
 * verdict is an improvement and the whole CI is beyond PCT; failed when the whole CI is short
 * of PCT; undecided otherwise.
 */
function improvementGate(c: Comparison, pct: number): Outcome {
  if (c.verdict === "insufficient data")
    return { status: "undecided", message: `${where(c)}: ${c.reason}` };
  const worse = worseCi(c);
  if (worse === null)
    return { status: "undecided", message: `${where(c)}: no relative change (a mean of 0)` };
  const better: [number, number] = [-worse[1], -worse[0]];
  const range = `[${better[0].toFixed(1)} %, ${better[1].toFixed(1)} %]`;
  if (c.verdict === "improvement" && better[0] >= pct) return { status: "passed" };
  if (better[1] < pct)
    return {
      status: "failed",
      message: `${where(c)} was expected to improve by at least ${pct} %; the 95 % CI of the improvement is ${range} (${c.verdict}, p Holm ${formatP(c.pAdjusted)})`,
    };
  return {
    status: "undecided",
    message: `${where(c)}: the improvement is within ${range}, which neither reaches nor rules out ${pct} %${moreBoots(c, better, pct)}`,
  };
}

/** Pure: applies the CI gates to a report. Insufficient or inconclusive data never pass silently. */
export function applyGates(report: ComparisonReport, gates: GateOptions): GateResult {
  for (const expected of gates.expectImprovement ?? []) {
    if (!report.comparisons.some((c) => c.metric === expected.metric)) {
      throw new UsageError(
        `--expect-improvement names ${expected.metric}, which no comparison has`,
        {
          hint: `metrics compared: ${[...new Set(report.comparisons.map((c) => c.metric))].join(", ")}`,
        },
      );
    }
  }
  const failures = new Map<number, string>();
  const undecided = new Map<number, string>();
  report.comparisons.forEach((c, index) => {
    const outcomes: Outcome[] = [];
    if (gates.failOnRegressionPct !== undefined)
      outcomes.push(regressionGate(c, gates.failOnRegressionPct));
    for (const expected of gates.expectImprovement ?? []) {
      if (expected.metric === c.metric) outcomes.push(improvementGate(c, expected.pct));
    }
    for (const outcome of outcomes) {
      if (outcome.status === "failed") failures.set(index, outcome.message);
      else if (outcome.status === "undecided" && !failures.has(index))
        undecided.set(index, outcome.message);
    }
  });
  const status: GateStatus =
    failures.size > 0 ? "failed" : undecided.size > 0 ? "undecided" : "passed";
  return { status, passed: status === "passed", failures, undecided };
}
