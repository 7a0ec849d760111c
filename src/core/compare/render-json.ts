import type { ComparisonReport, GateResult } from "./compare-model.js";

const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);

/**
 * The stable JSON form (schema 1):
 * { "schema": 1, "baseline": {"key","value"}, "alpha", "correction": "holm",
 *   "comparisons": [ { "workload", "metric", "unit", "direction",
 *       "baseline": {"label","n","mean","sd","ci95"}, "candidate": {...},
 *       "deltaPct", "deltaCi95": [lo, hi], "pWelch", "pMannWhitney", "mannWhitneyMethod",
 *       "pAdjusted", "verdict", "flags": [...], "noiseFloorPct": null | number (A/A calibration),
 *       "gate": null | "why it failed" } ],
 *   "unsupported": [ {"label","workload","metric","reason"} ], "environment": {label: {...}},
 *   "passed": true|false }
 * Numbers that do not exist (p of a single sample) are null.
 */
export function renderJson(report: ComparisonReport, gates?: GateResult): string {
  const side = (s: ComparisonReport["comparisons"][number]["baseline"]) => ({
    label: s.label,
    n: s.n,
    mean: s.mean,
    sd: s.sd,
    ci95: s.ci95.map(finite),
  });
  return `${JSON.stringify(
    {
      schema: 1,
      baseline: report.baseline,
      alpha: report.alpha,
      correction: report.correction,
      comparisons: report.comparisons.map((c, index) => ({
        workload: c.workload,
        metric: c.metric,
        unit: c.unit,
        direction: c.direction,
        baseline: side(c.baseline),
        candidate: side(c.candidate),
        deltaPct: finite(c.deltaPct),
        deltaCi95: c.deltaCi95.map(finite),
        pWelch: finite(c.pWelch),
        pMannWhitney: finite(c.pMannWhitney),
        mannWhitneyMethod: c.mannWhitneyMethod,
        pAdjusted: finite(c.pAdjusted),
        verdict: c.verdict,
        flags: c.flags,
        noiseFloorPct: c.noiseFloorPct,
        gate: gates?.failures.get(index) ?? null,
      })),
      unsupported: report.unsupported,
      environment: report.environment,
      passed: gates?.passed ?? true,
    },
    null,
    2,
  )}\n`;
}
