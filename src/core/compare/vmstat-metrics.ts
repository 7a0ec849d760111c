import type { SampleCounter } from "../results-format/sample.js";
import type { CellData } from "./compare-model.js";

/**
 * Pure: adds the /proc/vmstat deltas `run` recorded per iteration as metrics named
 * "vmstat.FIELD", for the fields asked for (they are opt-in: every metric compared tightens the
 * multiple-comparison correction of the others).
 */
export function withVmstatMetrics(
  cells: readonly CellData[],
  fields: readonly string[],
): CellData[] {
  if (fields.length === 0) return [...cells];
  return cells.map((cell) => ({
    ...cell,
    samples: cell.samples.map((sample) => {
      const deltas = sample.telemetry?.vmstatDeltas;
      if (deltas === undefined) return sample;
      const extra: Record<string, SampleCounter> = {};
      for (const field of fields) {
        const value = deltas[field];
        if (value !== undefined) extra[`vmstat.${field}`] = { status: "counted", value, unit: "" };
      }
      return { ...sample, counters: { ...sample.counters, ...extra } };
    }),
  }));
}
