/**
 * What one `perf stat -x<sep>` counter line means once parsed.
 *
 * Field order (perf-stat(1) "CSV FORMAT", and tools/perf/util/stat-display.c):
 *   value, unit, event, [variance with -r], run time, enabled %, metric value, metric unit
 */

/** perf prints a placeholder instead of a number when it has no count. */
export type PerfValue =
  | { kind: "counted"; value: number }
  /** The event could not be opened at all (e.g. no PMU in this VM). */
  | { kind: "not-supported" }
  /** The event was opened but never ran (run time or enabled time 0). */
  | { kind: "not-counted" };

/** A derived metric that perf printed on its own line after a counter. */
export interface PerfMetric {
  /** Absent when perf printed an empty value (it does so for NaN and negative metrics). */
  value?: number;
  unit: string;
}

export interface PerfCounter {
  /** As perf printed it, modifiers and PMU terms included: "task-clock", "instructions:u". */
  event: string;
  value: PerfValue;
  /** "msec", "ns", or "" for plain counts. */
  unit: string;
  /** Relative standard deviation across `-r N` runs, in percent; only present with -r. */
  variancepct?: number;
  /** Time the counter was actually running, in nanoseconds. */
  runTimeNs?: number;
  /** Share of the enabled time the counter was running (below 100 when multiplexed). */
  enabledPct?: number;
  /** First derived metric, printed on the counter's own line ("0.982" "CPUs utilized"). */
  metricValue?: number;
  metricUnit?: string;
  /** Further derived metrics that perf printed on continuation lines. */
  extraMetrics?: PerfMetric[];
}

/** One perf invocation: perf -o/--append starts each with a "# started on" header. */
export interface PerfRun {
  /** 0-based position of the run in the text. */
  index: number;
  /** The header's timestamp as perf printed it (ctime format), not parsed. */
  startedOn?: string;
  counters: PerfCounter[];
}
