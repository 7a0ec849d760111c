import type { ComparisonReport } from "./compare-model.js";
import type { GateResult } from "./gates.js";

/** JSON cannot hold NaN or Infinity; a number that does not exist is null. */
const finite = (n: number | null): number | null => (n !== null && Number.isFinite(n) ? n : null);
const range = (r: readonly [number, number] | null): [number | null, number | null] | null =>
  r === null ? null : [finite(r[0]), finite(r[1])];

/**
 * The stable JSON form (schema 2):
 * { "schema": 2, "baseline": {"key","value"}, "alpha", "minEffectPct", "correction": "holm",
 *   "method": "...",
 *   "comparisons": [ { "workload", "metric", "unit", "direction",
 *       "baseline": {"label","boots","n","mean","sd","sdBoots","ci95","cov","median","min","max","icc"},
 *       "candidate": {...}, "method": "ratio"|"difference"|null,
 *       "deltaPct", "deltaCi95": [lo, hi] | null, "difference",
 *       "pWelch", "pMannWhitney", "mannWhitneyMethod", "pAdjusted",
 *       "verdict": "improvement"|"regression"|"no change"|"inconclusive"|"insufficient data",
 *       "reason", "bootsNeeded", "flags": [...], "dropped": [...], "noiseFloorPct",
 *       "gate": null | {"status": "failed"|"undecided", "message"} } ],
 *   "unsupported": [ {"label","workload","metric","reason"} ], "dropped": [...],
 *   "environment": {label: {...}}, "gates": "passed"|"failed"|"undecided", "passed": bool }
 * Numbers that do not exist (the p of a cell with too few boots) are null.
 */
export function renderJson(report: ComparisonReport, gates?: GateResult): string {
  const side = (s: ComparisonReport["comparisons"][number]["baseline"]) => ({
    label: s.label,
    boots: s.boots,
    n: s.n,
    mean: finite(s.mean),
    sd: finite(s.sd),
    sdBoots: finite(s.sdBoots),
    ci95: range(s.ci95),
    cov: finite(s.cov),
    median: finite(s.median),
    min: finite(s.min),
    max: finite(s.max),
    icc: finite(s.icc),
  });
  const gateOf = (index: number) => {
    const failed = gates?.failures.get(index);
    if (failed !== undefined) return { status: "failed", message: failed };
    const undecided = gates?.undecided.get(index);
    return undecided === undefined ? null : { status: "undecided", message: undecided };
  };
  const comparisons = report.comparisons.map((c, index) => ({
    workload: c.workload,
    metric: c.metric,
    unit: c.unit,
    direction: c.direction,
    baseline: side(c.baseline),
    candidate: side(c.candidate),
    method: c.method,
    deltaPct: finite(c.deltaPct),
    deltaCi95: range(c.deltaCi95),
    difference: finite(c.difference),
    pWelch: finite(c.pWelch),
    pMannWhitney: finite(c.pMannWhitney),
    mannWhitneyMethod: c.mannWhitneyMethod,
    pAdjusted: finite(c.pAdjusted),
    verdict: c.verdict,
    reason: c.reason,
    bootsNeeded: c.bootsNeeded,
    flags: c.flags,
    dropped: c.dropped,
    noiseFloorPct: finite(c.noiseFloorPct),
    gate: gateOf(index),
  }));
  const document = {
    schema: 2,
    baseline: report.baseline,
    alpha: report.alpha,
    minEffectPct: report.minEffectPct,
    correction: report.correction,
    method: report.method,
    comparisons,
    unsupported: report.unsupported,
    dropped: report.dropped,
    environment: report.environment,
    gates: gates?.status ?? "passed",
    passed: gates?.passed ?? true,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
