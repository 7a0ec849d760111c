import junitModule, { type Builder } from "junit-report-builder";
import type { ComparisonReport } from "./compare-model.js";
import { formatP, formatQuantity } from "./format.js";
import type { GateResult } from "./gates.js";
import { deltaText } from "./render-table.js";

/**
 * JUnit XML: one test case per comparison, failing when a gate fails and skipped (with the
 * reason) when a gate could not decide; the numbers in the message.
 */
export function renderJunit(report: ComparisonReport, gates?: GateResult): string {
  // A CommonJS package whose types declare an ES default export: at run time the default import
  // is the builder itself. newBuilder() gives a fresh one instead of the package's global.
  const builder = (junitModule as unknown as Builder).newBuilder();
  const suite = builder
    .testSuite()
    .name(`balloon-bench compare (baseline ${report.baseline.key}=${report.baseline.value})`);
  report.comparisons.forEach((c, index) => {
    const { delta, ci } = deltaText(c);
    const side = (s: typeof c.baseline): string =>
      `${formatQuantity(s.mean, c.unit)} ± ${formatQuantity(s.sd, c.unit)} (n=${s.n}, ${s.boots} boots)`;
    const summary = `delta ${delta} ${ci}, baseline ${side(c.baseline)}, candidate ${side(c.candidate)}, p Welch ${formatP(c.pWelch)}, p MW ${formatP(c.pMannWhitney)}, p Holm ${formatP(c.pAdjusted)}: ${c.verdict} (${c.reason})`;
    const testCase = suite
      .testCase()
      .className(`${c.workload}.${c.candidate.label.replace(/[^A-Za-z0-9_-]/g, "_")}`)
      .name(`${c.metric}: ${c.candidate.label} vs ${c.baseline.label}`);
    const failure = gates?.failures.get(index);
    const undecided = gates?.undecided.get(index);
    if (failure !== undefined) testCase.failure(`${failure}; ${summary}`);
    else if (undecided !== undefined)
      testCase.skipped().standardOutput(`gate undecided: ${undecided}; ${summary}`);
    else testCase.standardOutput(summary);
  });
  return builder.build();
}
