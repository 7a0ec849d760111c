import { UsageError } from "../errors.js";
import { noiseFloor } from "../stats/noise-floor.js";
import { welchTTest } from "../stats/two-sample.js";
import { countedValues, type CellData } from "./compare-model.js";

export const CALIBRATION_FILE = "calibration.json";

export interface CalibrationEntry {
  readonly workload: string;
  readonly metric: string;
  readonly unit: string;
  readonly n: number;
  readonly cov: number;
  /** Smallest delta (percent of the mean) detectable at n per side, alpha 0.05, power 0.8. */
  readonly minDetectablePct: number;
  /** The A/A pair's own delta and Welch p: it should show no significant change. */
  readonly aaDeltaPct: number;
  readonly aaPWelch: number;
}

export interface Calibration {
  readonly schema: 1;
  readonly kind: "a-a";
  readonly cells: readonly string[];
  readonly entries: readonly CalibrationEntry[];
}

/** Pure: the noise floor of every counted metric from an A/A pair of cells. */
export function calibrationFromCells(cells: readonly CellData[]): Calibration {
  const [a, b] = cells;
  if (a === undefined || b === undefined || cells.length !== 2) {
    throw new UsageError(`an A/A calibration needs exactly two cells, found ${cells.length}`, {
      hint: "run `balloon-bench calibrate`",
    });
  }
  const entries: CalibrationEntry[] = [];
  const metrics = new Set(a.samples.flatMap((s) => Object.keys(s.counters)));
  for (const metric of metrics) {
    const x = countedValues(a, metric);
    const y = countedValues(b, metric);
    if (x.length < 2 || y.length < 2) continue;
    const floor = noiseFloor(x, y);
    const meanX = x.reduce((s, v) => s + v, 0) / x.length;
    const meanY = y.reduce((s, v) => s + v, 0) / y.length;
    entries.push({
      workload: a.workload,
      metric,
      unit: a.samples[0]?.counters[metric]?.unit ?? "",
      n: floor.n,
      cov: floor.cov,
      minDetectablePct: floor.minDetectablePct,
      aaDeltaPct: (100 * (meanY - meanX)) / meanX,
      aaPWelch: welchTTest(x, y).p,
    });
  }
  return { schema: 1, kind: "a-a", cells: [a.id, b.id], entries };
}

export function renderCalibration(calibration: Calibration): string {
  const lines = [
    "noise floor (A/A):",
    "  metric        CoV      detectable delta (n per side, 80 % power)  A/A delta  p Welch",
  ];
  for (const e of calibration.entries) {
    lines.push(
      `  ${e.metric.padEnd(12)}  ${(100 * e.cov).toFixed(1).padStart(5)} %  ±${e.minDetectablePct.toFixed(1)} % (n=${e.n})`.padEnd(
        70,
      ) +
        `${e.aaDeltaPct.toFixed(1)} %`.padStart(9) +
        `  ${e.aaPWelch.toPrecision(2)}`,
    );
  }
  return lines.join("\n");
}
