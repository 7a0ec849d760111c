import { z } from "zod";
import { interferenceSchema } from "../host/interference.js";
import type { PerfRun } from "../perf/perf-csv.js";

export const COUNTER_STATUSES = ["counted", "not-supported", "not-counted"] as const;
export type CounterStatus = (typeof COUNTER_STATUSES)[number];

export const sampleCounterSchema = z.object({
  status: z.enum(COUNTER_STATUSES),
  /** null unless counted: a missing count is never a zero. */
  value: z.number().nullable(),
  unit: z.string(),
  runTimeNs: z.number().optional(),
  enabledPct: z.number().optional(),
});
export type SampleCounter = z.infer<typeof sampleCounterSchema>;

export const settleSchema = z.object({
  /**
   * "flush": page_reporting's flush parameter was written; "sleep": the kernel lacks it;
   * "rss": the kernel lacks it, and the host waited until QEMU's RSS stopped falling;
   * "none": the scenario does neither (only drop_caches).
   */
  method: z.enum(["flush", "sleep", "rss", "none"]),
  flushPages: z.number().optional(),
  sleptMs: z.number().optional(),
  /** "rss": how long the host waited, at most maxMs, and whether RSS went quiet or time ran out. */
  waitedMs: z.number().optional(),
  maxMs: z.number().optional(),
  endedBy: z.enum(["quiet", "limit"]).optional(),
});
export type SettleRecord = z.infer<typeof settleSchema>;

/** Host- and guest-side measurements around one iteration. */
export const telemetrySchema = z.object({
  /** The QEMU process's resident set before the iteration (before any balloon move) and after. */
  rssBeforeBytes: z.number(),
  rssAfterBytes: z.number(),
  /**
   * QEMU's RSS before the prepare step and when perf started: what free page reporting gave
   * back to the host while the guest settled (absent in results of earlier versions).
   */
  settleRss: z.object({ beforeBytes: z.number(), afterBytes: z.number() }).optional(),
  /** query-balloon's `actual` after the iteration. */
  balloonActualBytes: z.number(),
  /** /proc/vmstat deltas across the perf command. */
  vmstatDeltas: z.record(z.string(), z.number()),
  /** The inflate-then-deflate scenario: how long each move took and the RSS while inflated. */
  inflate: z
    .object({
      targetBytes: z.number(),
      inflateMs: z.number(),
      deflateMs: z.number(),
      rssInflatedBytes: z.number(),
    })
    .optional(),
  /** Guest memory statistics from the balloon device after the iteration (plan: guestStats). */
  guestStats: z.record(z.string(), z.number()).optional(),
  /** How old those statistics were when read, in seconds after the perf command ended (<= 0: fresh). */
  guestStatsAgeS: z.number().optional(),
  /** Time QEMU did not answer QMP promptly during the iteration: its timing is suspect. */
  stall: z.object({ totalMs: z.number(), longestMs: z.number() }).optional(),
  /** Host load across the perf command: QEMU's non-vCPU threads, CPU pressure, steal. */
  interference: interferenceSchema.optional(),
});
export type IterationTelemetry = z.infer<typeof telemetrySchema>;

/** One iteration: one JSON line in a cell's samples.jsonl. */
export const sampleSchema = z.object({
  schema: z.literal(1),
  cell: z.string(),
  kernel: z.string(),
  config: z.string(),
  workload: z.string(),
  /** 1-based among counted iterations; warm-ups are numbered separately and flagged. */
  iteration: z.int().min(1),
  warmup: z.boolean(),
  startedAt: z.string(),
  /** Host-side wall time of the iteration: the prepare step (and a host-side settle) and perf. */
  wallMs: z.number(),
  /** Guest-side time of drop_caches plus flush/settle, and of the perf command (absent on import). */
  guestPrepareMs: z.number().optional(),
  guestPerfMs: z.number().optional(),
  settle: settleSchema,
  counters: z.record(z.string(), sampleCounterSchema),
  /** Which boot of the cell ran it (absent in results of the first version). */
  round: z.int().optional(),
  boot: z.string().optional(),
  /** The raw CSV file (in the cell's folder) and the 0-based perf run in it. */
  rawCsv: z.string().optional(),
  perfRun: z.int().optional(),
  telemetry: telemetrySchema.optional(),
});
export type Sample = z.infer<typeof sampleSchema>;

/** Pure: the counters of one perf run as a sample's counter map. */
export function countersFromPerfRun(run: PerfRun): Record<string, SampleCounter> {
  const counters: Record<string, SampleCounter> = {};
  for (const counter of run.counters) {
    counters[counter.event] = {
      status: counter.value.kind,
      value: counter.value.kind === "counted" ? counter.value.value : null,
      unit: counter.unit,
      runTimeNs: counter.runTimeNs,
      enabledPct: counter.enabledPct,
    };
  }
  return counters;
}
