import { renderCalibration } from "../../core/compare/calibration.js";
import { calibrate } from "../../experiment/calibrate.js";
import { shutdownSignal } from "../../util/shutdown.js";
import type { CliIo } from "../io.js";
import type { RunCliOptions } from "../options.js";
import { assertNoFailedCells, makeReporter, noteHowToResume, resolveRun } from "../run-support.js";

/** `balloon-bench calibrate`: an A/A run and its noise floor per metric (calibration.json). */
export async function calibrateCommand(
  options: RunCliOptions,
  explicitFlags: readonly string[],
  io: CliIo,
): Promise<void> {
  const { plan, out } = await resolveRun(options, explicitFlags, "calibrate");
  const { result, calibration } = await calibrate(
    {
      plan,
      out,
      qemu: options.qemu,
      command: process.argv.slice(2),
      signal: shutdownSignal(),
      onResultsDir: noteHowToResume,
    },
    makeReporter(io),
  );
  assertNoFailedCells(result);
  if (calibration !== undefined)
    io.stdout(`${renderCalibration(calibration)}\nresults: ${result.resultsDir}\n`);
}
