import { parseShard } from "../../core/plan/shard.js";
import { runExperiment } from "../../experiment/run-experiment.js";
import { shutdownSignal } from "../../util/shutdown.js";
import type { CliIo } from "../io.js";
import type { RunCliOptions } from "../options.js";
import { setInterruptNote } from "../process-guard.js";
import {
  assertNoFailedCells,
  makeReporter,
  noteHowToResume,
  printExperimentResult,
  resolveRun,
} from "../run-support.js";

/** `balloon-bench run`: the plan (from --plan or the flags), run, then the summary table. */
export async function runCommand(
  options: RunCliOptions,
  explicitFlags: readonly string[],
  io: CliIo,
): Promise<void> {
  const { plan, out } = await resolveRun(options, explicitFlags);
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
}
