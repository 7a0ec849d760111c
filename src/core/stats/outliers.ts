import { median } from "./descriptive.js";

/** Iglewicz and Hoaglin's cut-off: |modified z| above 3.5 is a potential outlier. */
export const OUTLIER_Z = 3.5;

/**
 * Pure: the modified z-score of each value, 0.6745 (x - median) / MAD, robust to the very
 * outliers it looks for. Empty when the MAD is 0 (most values equal: nothing to scale by).
 */
export function modifiedZScores(values: readonly number[]): number[] {
  if (values.length < 3) return [];
  const m = median(values);
  const mad = median(values.map((v) => Math.abs(v - m)));
  if (mad === 0) return [];
  return values.map((v) => (0.6745 * (v - m)) / mad);
}
