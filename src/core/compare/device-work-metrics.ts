import type { SampleCounter } from "../results-format/sample.js";
import type { CellData } from "./compare-model.js";
import type { Direction } from "./verdict.js";

const MiB = 1024 * 1024;

/** The metrics `compare --device-work` adds, and the direction that reads as "the device did more". */
export const DEVICE_WORK_METRICS = {
  /** QEMU's RSS fall across the settle: what free page reporting gave back to the host. */
  settle: "device.settle-released-MiB",
  /** QEMU's RSS fall across the inflate (inflate-deflate scenario): what the balloon took. */
  inflate: "device.inflate-released-MiB",
} as const;

const mib = (bytes: number): SampleCounter => ({
  status: "counted",
  value: Math.round((bytes / MiB) * 10) / 10,
  unit: "MiB",
});

/**
 * Pure: adds the host-side evidence that the device worked, per iteration, as metrics compared
 * like the others (boot-level statistics). Opt-in like --vmstat: each metric compared tightens
 * the multiple-comparison correction of the others. Samples without the telemetry (imports,
 * earlier versions) get none.
 */
export function withDeviceWorkMetrics(cells: readonly CellData[], enabled: boolean): CellData[] {
  if (!enabled) return [...cells];
  return cells.map((cell) => ({
    ...cell,
    samples: cell.samples.map((sample) => {
      const t = sample.telemetry;
      if (t === undefined) return sample;
      const extra: Record<string, SampleCounter> = {};
      if (t.settleRss !== undefined) {
        extra[DEVICE_WORK_METRICS.settle] = mib(t.settleRss.beforeBytes - t.settleRss.afterBytes);
      }
      if (t.inflate !== undefined) {
        extra[DEVICE_WORK_METRICS.inflate] = mib(t.rssBeforeBytes - t.inflate.rssInflatedBytes);
      }
      return { ...sample, counters: { ...sample.counters, ...extra } };
    }),
  }));
}

/** Pure: the user's --direction entries, with "higher" for the device metrics they left out. */
export function withDeviceWorkDirections(
  directions: ReadonlyMap<string, Direction>,
  enabled: boolean,
): Map<string, Direction> {
  const out = new Map(directions);
  if (!enabled) return out;
  for (const metric of Object.values(DEVICE_WORK_METRICS)) {
    if (!out.has(metric)) out.set(metric, "higher");
  }
  return out;
}
