import junitModule, { type Builder } from "junit-report-builder";
import { formatP, type ComparisonReport, type GateResult } from "./compare-model.js";

/** JUnit XML: one test case per comparison, failing when a gate fails, numbers in the message. */
export function renderJunit(report: ComparisonReport, gates?: GateResult): string {
  // A CommonJS package whose types declare an ES default export: at run time the default import
  // is the builder itself. newBuilder() gives a fresh one instead of the package's global.
  const builder = (junitModule as unknown as Builder).newBuilder();
  const suite = builder
    .testSuite()
    .name(`balloon-bench compare (baseline ${report.baseline.key}=${report.baseline.value})`);
  report.comparisons.forEach((c, index) => {
    const summary = `delta ${c.deltaPct.toFixed(1)}% [${c.deltaCi95.map((v) => v.toFixed(1)).join(", ")}], baseline ${c.baseline.mean.toPrecision(4)} ± ${c.baseline.sd.toPrecision(3)} (n=${c.baseline.n}), candidate ${c.candidate.mean.toPrecision(4)} ± ${c.candidate.sd.toPrecision(3)} (n=${c.candidate.n}), p Welch ${formatP(c.pWelch)}, p MW ${formatP(c.pMannWhitney)}, p Holm ${formatP(c.pAdjusted)}: ${c.verdict}`;
    const testCase = suite
      .testCase()
      .className(`${c.workload}.${c.candidate.label.replace(/[^A-Za-z0-9_-]/g, "_")}`)
      .name(`${c.metric}: ${c.candidate.label} vs ${c.baseline.label}`);
    const failure = gates?.failures.get(index);
    if (failure !== undefined) testCase.failure(`${failure}; ${summary}`);
    else testCase.standardOutput(summary);
  });
  return builder.build();
}
