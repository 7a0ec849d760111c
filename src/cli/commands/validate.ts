import { parseExpectImprovement } from "../../core/compare/gates.js";
import { UsageError } from "../../core/errors.js";
import { planFromFlags } from "../../core/plan/plan-flags.js";
import {
  BASELINE_KERNEL,
  validationPlanFile,
  vmstatFieldsToCompare,
} from "../../core/plan/validation-plan.js";
import { withPinFlag } from "../../core/plan/vm-options.js";
import { EXIT_FAILURE, EXIT_UNDECIDED } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import { parseDirection, type RunCliOptions } from "../options.js";
import { defaultOutDir, runAndSummarize } from "../run-support.js";
import { compareCommand, parsePct } from "./compare.js";

export interface ValidateCliOptions extends Omit<RunCliOptions, "config"> {
  tree: string;
  base: string;
  patches: string[];
  config: string[];
  kernelConfig?: string;
  fragment: string[];
  expectImprovement: string[];
  direction: string[];
  failOnRegression?: string;
  minEffect: string;
  vmstatCompare?: string;
}

/** validate makes its own kernels and plan: --kernel and --plan would contradict them. */
function refuseRunOnlyFlags(options: ValidateCliOptions): void {
  if (options.kernel.length > 0)
    throw new UsageError("validate builds its own kernels: --kernel does not apply", {
      hint: "drop --kernel; validate builds --tree at --base (baseline) and with --patches (patched)",
    });
  if (options.plan !== undefined)
    throw new UsageError("validate takes the plan flags, not --plan", {
      hint: "drop --plan; use --config NAME=BITS, --size, --iterations ... instead",
    });
}

/** A malformed gate fails now, not after the builds and the run. */
function checkGates(options: ValidateCliOptions): void {
  options.expectImprovement.forEach(parseExpectImprovement);
  options.direction.forEach(parseDirection);
  parsePct(options.minEffect, "--min-effect");
  if (options.failOnRegression !== undefined)
    parsePct(options.failOnRegression, "--fail-on-regression");
}

/**
 * `balloon-bench validate`: builds the baseline (--tree at --base) and patched (+ --patches)
 * kernels, runs them interleaved, prints the cover-letter table and the gates' verdict, and
 * exits with the gates' code (0 passed, 1 failed, 3 undecided; 2 for bad input).
 */
export async function validateCommand(options: ValidateCliOptions, io: CliIo): Promise<void> {
  refuseRunOnlyFlags(options);
  checkGates(options);
  const request = {
    tree: options.tree,
    base: options.base,
    patches: options.patches,
    kernelConfig: options.kernelConfig,
    fragments: options.fragment,
    configs: options.config,
  };
  const plan = withPinFlag(
    planFromFlags({ ...options, kernel: [] }, process.cwd(), (file) =>
      validationPlanFile(file, request),
    ),
    options.pin,
  );
  const result = await runAndSummarize(plan, options.out ?? defaultOutDir("validate"), options, io);
  io.stdout("\n");
  let exitCode = 0;
  await compareCommand(
    [result.resultsDir],
    {
      baseline: `kernel=${BASELINE_KERNEL}`,
      format: "letter",
      failOnRegression: options.failOnRegression,
      expectImprovement: options.expectImprovement,
      direction: options.direction,
      alpha: "0.05",
      minEffect: options.minEffect,
      vmstat: vmstatFieldsToCompare(options.expectImprovement, options.vmstatCompare).join(","),
    },
    {
      ...io,
      setExitCode: (code) => {
        exitCode = code;
        io.setExitCode(code);
      },
    },
  );
  io.stdout(`\nverdict: ${verdictLine(exitCode, options)}\n`);
}

function verdictLine(exitCode: number, options: ValidateCliOptions): string {
  const gates = [
    ...options.expectImprovement.map((g) => `--expect-improvement ${g}`),
    ...(options.failOnRegression === undefined
      ? []
      : [`--fail-on-regression ${options.failOnRegression}`]),
  ];
  if (gates.length === 0) return "no gate given (pass --expect-improvement METRIC:PCT)";
  if (exitCode === EXIT_FAILURE) return `FAIL (${gates.join(", ")})`;
  if (exitCode === EXIT_UNDECIDED) return `UNDECIDED (${gates.join(", ")}): more boots needed`;
  return `PASS (${gates.join(", ")})`;
}
