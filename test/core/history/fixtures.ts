/** Small hand-made history inputs shared by the history tests. */
import type { HistoryRunInput } from "../../../src/core/history/history-input.js";
import { recordsFromRun, type HistoryRecord } from "../../../src/core/history/history-record.js";
import { buildSeries } from "../../../src/core/history/history-series.js";
import { analyzeSeries, type SeriesAnalysis } from "../../../src/core/history/series-analysis.js";
import {
  historyRunInputs,
  seededHistory,
  type HistoryEvent,
} from "../../../src/core/history/synthetic-history.js";

export const SHA_A = "a".repeat(64);
export const SHA_B = "b".repeat(64);

type Cell = HistoryRunInput["cells"][number];

/** One cell with `boots` boots × `iterations` iterations around `level` (deterministic spread). */
export function cell(
  level: number,
  options: {
    kernel?: string;
    commit?: string;
    config?: string;
    workload?: string;
    negotiatedBits?: number[] | null;
    requestedBits?: number[];
    boots?: number;
    iterations?: number;
    metrics?: (boot: number, iteration: number) => Record<string, number | null>;
  } = {},
): Cell {
  const boots = options.boots ?? 3;
  const iterations = options.iterations ?? 2;
  const samples: Cell["samples"] = [];
  for (let b = 0; b < boots; b++) {
    for (let i = 0; i < iterations; i++) {
      const spread = (b - (boots - 1) / 2) * 0.02 + (i - (iterations - 1) / 2) * 0.01;
      samples.push({
        boot: `boot-${b + 1}`,
        iteration: b * iterations + i + 1,
        metrics: options.metrics?.(b, i) ?? {
          "task-clock": level * (1 + spread),
          "cache-misses": null,
        },
      });
    }
  }
  return {
    kernel: {
      label: options.kernel ?? "mainline",
      ...(options.commit === undefined ? {} : { commit: options.commit }),
      sha256: SHA_A,
    },
    config: options.config ?? "bits-5-6",
    requestedBits: options.requestedBits ?? [5, 6],
    negotiatedBits: options.negotiatedBits === undefined ? [1, 5, 6] : options.negotiatedBits,
    workload: options.workload ?? "alloc_once-256M",
    samples,
  };
}

export function run(
  night: number,
  cells: Cell[],
  fingerprint: HistoryRunInput["fingerprint"] = { hostKernel: "6.1.0", cpuModel: "EPYC" },
): HistoryRunInput {
  return {
    sourceRun: `plan-abc/seed-1/shard-none/night-${String(night).padStart(3, "0")}`,
    date: new Date(Date.parse("2026-10-01T01:30:00Z") + night * 86_400_000).toISOString(),
    fingerprint,
    qemuVersion: "9.2.0",
    accelerator: "kvm",
    cells,
  };
}

export function records(runs: ReturnType<typeof run>[]): HistoryRecord[] {
  return runs.flatMap((r) => recordsFromRun(r).records).filter((r) => r.metric === "task-clock");
}

/** A synthetic history as records of one series. */
export function synthetic(
  seed: number,
  nights: number,
  events: readonly HistoryEvent[] = [],
): HistoryRecord[] {
  return historyRunInputs(seededHistory(seed, nights, events)).flatMap(
    (r) => recordsFromRun(r).records,
  );
}

export function analyze(list: HistoryRecord[]): SeriesAnalysis[] {
  return buildSeries(list).map((s) => analyzeSeries(s));
}
