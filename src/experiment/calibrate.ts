import { calibrationFromCells, type Calibration } from "../core/compare/calibration.js";
import { UsageError } from "../core/errors.js";
import type { Plan } from "../core/plan/plan.js";
import { writeCalibration } from "./calibration-file.js";
import { loadCells } from "./load-cells.js";
import type { MachinePort } from "./machine-port.js";
import { runExperiment, type ExperimentRequest, type ExperimentResult } from "./run-experiment.js";
import type { RunReporter } from "./run-reporter.js";

/** Pure: an A/A plan, the one kernel run as two cells ("NAME-A1", "NAME-A2") interleaved boot by boot. */
export function aaPlan(plan: Plan): Plan {
  const [spec] = plan.kernels;
  if (
    spec === undefined ||
    plan.kernels.length !== 1 ||
    plan.configs.length !== 1 ||
    plan.workloads.length !== 1
  ) {
    throw new UsageError("calibrate runs one kernel, config and workload against itself", {
      hint: "give at most one --kernel (or a plan with one kernel, config and workload)",
    });
  }
  return {
    ...plan,
    kernels: [
      { ...spec, name: `${spec.name}-A1` },
      { ...spec, name: `${spec.name}-A2` },
    ],
  };
}

/**
 * `balloon-bench calibrate`: an A/A experiment; the noise floor per metric goes into
 * calibration.json, which compare shows next to each delta of the same workload and metric.
 */
export async function calibrate(
  request: Omit<ExperimentRequest, "skipUnsupported" | "shard">,
  reporter: RunReporter,
  port?: MachinePort,
): Promise<{ result: ExperimentResult; calibration: Calibration | undefined }> {
  const result = await runExperiment(
    { ...request, plan: aaPlan(request.plan), skipUnsupported: false },
    reporter,
    port,
  );
  if (result.failed.length > 0) return { result, calibration: undefined };
  const calibration = calibrationFromCells(await loadCells([result.resultsDir]));
  await writeCalibration(result.resultsDir, calibration);
  return { result, calibration };
}
