import { join } from "node:path";
import { UsageError } from "../errors.js";
import { runBench } from "../bench/run-bench.js";
import { loadCells } from "../compare/load-cells.js";
import {
  CALIBRATION_FILE,
  calibrationFromCells,
  renderCalibration,
} from "../compare/calibration.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import type { CliIo, RunCliOptions } from "./program.js";
import { parseRunOptions } from "./run-command.js";

/**
 * `balloon-bench calibrate`: an A/A experiment. The same kernel and feature configuration run
 * twice, each in its own VM, and the noise floor per metric is written to calibration.json,
 * which compare shows next to each delta.
 */
export async function calibrateCommand(options: RunCliOptions, io: CliIo): Promise<void> {
  if (options.kernel.length > 1) {
    throw new UsageError("calibrate runs one kernel build against itself", {
      hint: "give at most one --kernel",
    });
  }
  const base = parseRunOptions(options, "calibrate");
  const spec = base.kernels[0] ?? { name: "stock", kernelPath: "debian:amd64", cmdline: [] };
  const result = await runBench(
    {
      ...base,
      kernels: [
        { ...spec, name: `${spec.name}-A1` },
        { ...spec, name: `${spec.name}-A2` },
      ],
    },
    (line) => io.stderr(`${line}\n`),
  );
  const calibration = calibrationFromCells(await loadCells([result.resultsDir]));
  await writeFileAtomic(
    join(result.resultsDir, CALIBRATION_FILE),
    `${JSON.stringify(calibration, null, 2)}\n`,
  );
  io.stdout(`${renderCalibration(calibration)}\nresults: ${result.resultsDir}\n`);
}
