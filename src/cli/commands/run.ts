import type { CliIo } from "../io.js";
import type { RunCliOptions } from "../options.js";
import { resolveRun, runAndSummarize } from "../run-support.js";

/** `balloon-bench run`: the plan (from --plan or the flags), run, then the summary table. */
export async function runCommand(
  options: RunCliOptions,
  explicitFlags: readonly string[],
  io: CliIo,
): Promise<void> {
  const { plan, out } = await resolveRun(options, explicitFlags);
  await runAndSummarize(plan, out, options, io);
}
