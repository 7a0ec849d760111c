import {
  DEFAULT_DETECTOR_OPTIONS,
  type DetectorOptions,
} from "../../core/history/change-points.js";
import { UsageError } from "../../core/errors.js";
import { DEFAULT_GATE_OPTIONS, type GateOptions } from "../../core/history/history-gate.js";
import type { AnalysisOptions } from "../../core/history/series-analysis.js";

/** What `history changes` and `history report` are asked for, checked once. */
export interface HistoryChangesOptions {
  readonly detector?: Partial<DetectorOptions>;
  /** Metrics where higher is better (default: none; lower is better). */
  readonly higherIsBetter?: readonly string[];
  readonly gate?: Partial<GateOptions>;
  /**
   * --fail-on-regression PCT: a new regression of at least PCT % fails the night (exit 1).
   * Without it the new change points are reported and the exit code is 0.
   */
  readonly failOnRegression?: number;
}

function positiveInteger(name: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min) {
    throw new UsageError(`${name} must be an integer of at least ${min}, not ${value}`);
  }
}

export function resolveOptions(options: HistoryChangesOptions): {
  analysis: AnalysisOptions;
  gate: GateOptions;
} {
  const detector = { ...DEFAULT_DETECTOR_OPTIONS, ...options.detector };
  positiveInteger("minSegment", detector.minSegment, 2);
  positiveInteger("--window", detector.windowLength, 2 * detector.minSegment);
  if (!(detector.maxPValue > 0 && detector.maxPValue < 1)) {
    throw new UsageError(`--significance must be between 0 and 1, not ${detector.maxPValue}`);
  }
  if (!(detector.minMagnitude >= 0 && detector.minMagnitude < 1)) {
    throw new UsageError(
      `--min-magnitude must be a percentage from 0 to 100, not ${detector.minMagnitude * 100}`,
    );
  }
  const gate = {
    ...DEFAULT_GATE_OPTIONS,
    ...options.gate,
    ...(options.failOnRegression === undefined
      ? {}
      : { thresholdPercent: options.failOnRegression }),
  };
  positiveInteger("lastNights", gate.lastNights);
  positiveInteger("gate memory", gate.memory);
  positiveInteger("tolerance", gate.tolerance, 0);
  if (!(gate.thresholdPercent >= 0)) {
    throw new UsageError(
      `--fail-on-regression must be a percentage of 0 or more, not ${gate.thresholdPercent}`,
    );
  }
  return { analysis: { detector, higherIsBetter: options.higherIsBetter ?? [] }, gate };
}
