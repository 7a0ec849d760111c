import { join } from "node:path";
import { BalloonBenchError, UsageError } from "../core/errors.js";
import type { Plan } from "../core/plan/plan.js";
import { PLAN_FLAGS, planFromFlags } from "../core/plan/plan-flags.js";
import { parseShard } from "../core/plan/shard.js";
import { withPinFlag } from "../core/plan/vm-options.js";
import { renderSummary, summarizeSamples } from "../core/results-format/summary.js";
import { ResultsDir } from "../experiment/results-dir.js";
import { runExperiment, type ExperimentResult } from "../experiment/run-experiment.js";
import { plainReporter, type RunReporter } from "../experiment/run-reporter.js";
import { shutdownSignal } from "../util/shutdown.js";
import type { CliIo } from "./io.js";
import { loadPlanFile } from "./load-plan.js";
import type { RunCliOptions } from "./options.js";
import { setInterruptNote } from "./process-guard.js";
import { ttyReporter } from "./tty-reporter.js";

export function defaultOutDir(prefix: string): string {
  return join("results", `${prefix}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
}

/** --plan FILE or the plan flags (not both), and --out. */
export async function resolveRun(
  options: RunCliOptions,
  explicitFlags: readonly string[],
  outPrefix = "run",
): Promise<{ plan: Plan; out: string }> {
  const out = options.out ?? defaultOutDir(outPrefix);
  if (options.plan === undefined)
    return { plan: withPinFlag(planFromFlags(options, process.cwd()), options.pin), out };
  const clash = explicitFlags.find((f): f is keyof typeof PLAN_FLAGS => f in PLAN_FLAGS);
  if (clash !== undefined) {
    throw new UsageError(
      `${PLAN_FLAGS[clash]} cannot be combined with --plan (the plan file defines it)`,
      { hint: `set it in ${options.plan}, or drop --plan` },
    );
  }
  return { plan: withPinFlag(await loadPlanFile(options.plan), options.pin), out };
}

export function makeReporter(io: CliIo): RunReporter {
  return process.stderr.isTTY && process.env["CI"] === undefined
    ? ttyReporter(process.stderr)
    : plainReporter((line) => io.stderr(`${line}\n`));
}

/** Says how to resume once the results directory exists, in case a signal ends the run. */
export function noteHowToResume(dir: string): void {
  setInterruptNote(
    `balloon-bench: completed iterations are saved in ${dir}; to resume, run the same command again with --out ${dir}`,
  );
}

/** Per cell: the mean ± sd table, read back from disk (resumed iterations included). */
export async function printExperimentResult(result: ExperimentResult, io: CliIo): Promise<void> {
  const results = await ResultsDir.open(result.resultsDir);
  const accelerator = result.accelerator.accelerator;
  for (const cell of result.cells) {
    const samples = await results.readSamples(cell.id);
    if (samples.length === 0) continue;
    io.stdout(`\n${cell.kernel}, ${cell.config}, ${cell.workload} (${accelerator})\n`);
    io.stdout(`${renderSummary(summarizeSamples(samples), { accelerator })}\n`);
  }
  for (const skipped of result.skipped)
    io.stdout(`\nskipped config ${skipped.config}: ${skipped.reason}\n`);
  io.stdout(`\nresults: ${result.resultsDir}\n`);
}

/**
 * Runs a plan into `out` as `run` does, resumable and ended cleanly by a signal, then prints the
 * mean ± sd tables; validate runs its plan through it too, so both behave alike until the results
 * are written. Failed cells throw (exit 1) after the tables.
 */
export async function runAndSummarize(
  plan: Plan,
  out: string,
  options: Pick<RunCliOptions, "qemu" | "skipUnsupported" | "shard">,
  io: CliIo,
): Promise<ExperimentResult> {
  const result = await runExperiment(
    {
      plan,
      out,
      qemu: options.qemu,
      skipUnsupported: options.skipUnsupported === true,
      shard: options.shard === undefined ? undefined : parseShard(options.shard),
      command: process.argv.slice(2),
      signal: shutdownSignal(),
      onResultsDir: noteHowToResume,
    },
    makeReporter(io),
  );
  setInterruptNote(undefined);
  await printExperimentResult(result, io);
  assertNoFailedCells(result);
  return result;
}

/** Failed cells make the run exit 1 after everything else ran; the error lists them. */
export function assertNoFailedCells(result: ExperimentResult): void {
  if (result.failed.length === 0) return;
  const list = result.failed.map((f) => `${f.cell} (${f.reason})`).join("; ");
  throw new BalloonBenchError(`${result.failed.length} cell(s) failed: ${list}`, {
    hint: `see the console tails in ${join(result.resultsDir, "manifest.json")}; re-run the same command to retry them`,
  });
}
