import { join } from "node:path";
import { UsageError } from "../core/errors.js";
import { runExperiment } from "../experiment/run-experiment.js";
import { loadCells } from "../experiment/load-cells.js";
import {
  CALIBRATION_FILE,
  calibrationFromCells,
  renderCalibration,
} from "../core/compare/calibration.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import type { CliIo, RunCliOptions } from "./program.js";
import { assertNoFailedCells, makeReporter, resolveRun } from "./run-command.js";
import { setInterruptNote } from "./process-guard.js";

/**
 * `balloon-bench calibrate`: an A/A experiment. The same kernel and feature configuration run
 * as two cells, interleaved boot by boot, and the noise floor per metric is written to
 * calibration.json, which compare shows next to each delta.
 */
export async function calibrateCommand(
  options: RunCliOptions,
  explicitFlags: readonly string[],
  io: CliIo,
): Promise<void> {
  const { plan, out } = await resolveRun(options, explicitFlags, "calibrate");
  if (plan.kernels.length !== 1 || plan.configs.length !== 1 || plan.workloads.length !== 1) {
    throw new UsageError("calibrate runs one kernel, config and workload against itself", {
      hint: "give at most one --kernel (or a plan with one kernel, config and workload)",
    });
  }
  const spec = plan.kernels[0]!;
  const result = await runExperiment(
    {
      plan: {
        ...plan,
        kernels: [
          { ...spec, name: `${spec.name}-A1` },
          { ...spec, name: `${spec.name}-A2` },
        ],
      },
      out,
      qemu: options.qemu,
      skipUnsupported: false,
      command: process.argv.slice(2),
    },
    makeReporter(io),
    (dir) =>
      setInterruptNote(
        `balloon-bench: completed iterations are saved in ${dir}; to resume, run the same command again with --out ${dir}`,
      ),
  );
  assertNoFailedCells(result);
  const calibration = calibrationFromCells(await loadCells([result.resultsDir]));
  await writeFileAtomic(
    join(result.resultsDir, CALIBRATION_FILE),
    `${JSON.stringify(calibration, null, 2)}\n`,
  );
  io.stdout(`${renderCalibration(calibration)}\nresults: ${result.resultsDir}\n`);
}
