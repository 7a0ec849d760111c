import type { PerfRun } from "../perf/perf-csv.js";

export type CounterStatus = "counted" | "not-supported" | "not-counted";

export interface SampleCounter {
  readonly status: CounterStatus;
  /** null unless counted: a missing count is never a zero. */
  readonly value: number | null;
  readonly unit: string;
  readonly runTimeNs?: number | undefined;
  readonly enabledPct?: number | undefined;
}

export interface SettleRecord {
  /**
   * "flush": page_reporting's flush parameter was written; "sleep": the kernel lacks it;
   * "none": the scenario does neither (only drop_caches).
   */
  readonly method: "flush" | "sleep" | "none";
  readonly flushPages?: number;
  readonly sleptMs?: number;
}

/** One iteration: one JSON line in samples.jsonl. */
export interface Sample {
  readonly schema: 1;
  readonly cell: string;
  readonly kernel: string;
  readonly config: string;
  readonly workload: string;
  /** 1-based among counted iterations; warm-ups are numbered separately and flagged. */
  readonly iteration: number;
  readonly warmup: boolean;
  readonly startedAt: string;
  /** Host-side wall time of the iteration's SSH command. */
  readonly wallMs: number;
  /** Guest-side time of drop_caches plus flush/settle, and of the perf command (absent on import). */
  readonly guestPrepareMs?: number | undefined;
  readonly guestPerfMs?: number | undefined;
  readonly settle: SettleRecord;
  readonly counters: Readonly<Record<string, SampleCounter>>;
  /** Which boot of the cell ran it (absent on import). */
  readonly round?: number | undefined;
  readonly boot?: string | undefined;
  /** The raw CSV file (in the cell's folder) and the 0-based perf run in it. */
  readonly rawCsv?: string | undefined;
  readonly perfRun?: number | undefined;
  readonly telemetry?: IterationTelemetry | undefined;
}

/** Host- and guest-side measurements around one iteration. */
export interface IterationTelemetry {
  /** The QEMU process's resident set before the iteration (before any balloon move) and after. */
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  /** query-balloon's `actual` after the iteration. */
  readonly balloonActualBytes: number;
  /** /proc/vmstat deltas across the perf command. */
  readonly vmstatDeltas: Readonly<Record<string, number>>;
  /** The inflate-then-deflate scenario: how long each move took and the RSS while inflated. */
  readonly inflate?: {
    readonly targetBytes: number;
    readonly inflateMs: number;
    readonly deflateMs: number;
    readonly rssInflatedBytes: number;
  };
  /** Guest memory statistics from the balloon device after the iteration (plan: guestStats). */
  readonly guestStats?: Readonly<Record<string, number>>;
}

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
