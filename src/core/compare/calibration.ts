import { UsageError } from "../errors.js";
import { compareBootMeans, intraBootCorrelation, summarizeBoots } from "../stats/boot-level.js";
import { noiseFloor } from "../stats/noise-floor.js";
import { bootValues, metricsOf, type CellData } from "./cell-metrics.js";

export const CALIBRATION_FILE = "calibration.json";

export interface CalibrationEntry {
  readonly workload: string;
  readonly metric: string;
  readonly unit: string;
  /** Boots per side (the smaller side) and counted iterations of both sides. */
  readonly boots: number;
  readonly iterations: number;
  /** Pooled coefficient of variation of the boot means: the noise a comparison sees. */
  readonly cov: number;
  /** Intra-boot correlation of the pooled A/A cells; null with one iteration per boot. */
  readonly icc: number | null;
  /** Smallest delta (percent of the mean) detectable at this many boots per side, alpha 0.05, power 0.8. */
  readonly minDetectablePct: number;
  /** The A/A pair's own delta and its p-value by compare's method: it should show no change. */
  readonly aaDeltaPct: number | null;
  readonly aaP: number;
}

export interface Calibration {
  readonly schema: 2;
  readonly kind: "a-a";
  /** Boot means, not iterations, are the unit: the floor says what a comparison of boots can see. */
  readonly unit: "boot";
  readonly cells: readonly string[];
  readonly entries: readonly CalibrationEntry[];
}

/** Pure: the boot-level noise floor of every counted metric from an A/A pair of cells. */
export function calibrationFromCells(cells: readonly CellData[]): Calibration {
  const [a, b] = cells;
  if (a === undefined || b === undefined || cells.length !== 2) {
    throw new UsageError(`an A/A calibration needs exactly two cells, found ${cells.length}`, {
      hint: "run `balloon-bench calibrate`",
    });
  }
  const entries: CalibrationEntry[] = [];
  for (const [metric, info] of metricsOf(a)) {
    const [ga, gb] = [bootValues(a, metric), bootValues(b, metric)];
    if (ga.length < 2 || gb.length < 2) continue;
    const [sa, sb] = [summarizeBoots(ga), summarizeBoots(gb)];
    const floor = noiseFloor(sa.bootMeans, sb.bootMeans);
    const aa = compareBootMeans(sa.bootMeans, sb.bootMeans);
    entries.push({
      workload: a.workload,
      metric,
      unit: info.unit,
      boots: floor.n,
      iterations: sa.iterations + sb.iterations,
      cov: floor.cov,
      icc: intraBootCorrelation([...ga, ...gb]),
      minDetectablePct: floor.minDetectablePct,
      aaDeltaPct: aa.deltaPct,
      aaP: aa.p,
    });
  }
  return { schema: 2, kind: "a-a", unit: "boot", cells: [a.id, b.id], entries };
}

export function renderCalibration(calibration: Calibration): string {
  const lines = [
    "noise floor (A/A, boot means):",
    "  metric        CoV of boots  ICC   detectable delta (80 % power)   A/A delta  p",
  ];
  for (const e of calibration.entries) {
    const icc = e.icc === null ? "n/a " : e.icc.toFixed(2);
    const delta = e.aaDeltaPct === null ? "n/a" : `${e.aaDeltaPct.toFixed(1)} %`;
    lines.push(
      `  ${e.metric.padEnd(12)}  ${(100 * e.cov).toFixed(1).padStart(8)} %    ${icc}  ±${e.minDetectablePct.toFixed(1)} % at ${e.boots} boots per side`.padEnd(
        72,
      ) + `${delta.padStart(9)}  ${e.aaP.toPrecision(2)}`,
    );
  }
  return lines.join("\n");
}
