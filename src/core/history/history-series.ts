/**
 * From records to series and their splits. Pure.
 *
 * A series is kernel line (kernel label) × config × workload × metric; its nights are its records
 * in date order (then source run). It is split into segments wherever the environment hash
 * (fingerprint without kernel-build keys, QEMU version, accelerator), the requested bits or the
 * negotiated bits change: such a night starts a new segment, the split is reported with its
 * reason and change points are searched inside segments only, so a new host or new feature bits
 * never show up as a performance change.
 */
import { compareRecords, isKernelBuildKey, type HistoryRecord } from "./history-record.js";

export interface SeriesKey {
  readonly kernel: string;
  readonly config: string;
  readonly workload: string;
  readonly metric: string;
}

export const SERIES_FIELDS = ["kernel", "config", "workload", "metric"] as const;

export function seriesId(key: SeriesKey): string {
  return `${key.kernel} · ${key.config} · ${key.workload} · ${key.metric}`;
}

export function seriesKeyOf(record: HistoryRecord): SeriesKey {
  return {
    kernel: record.kernel.label,
    config: record.config.name,
    workload: record.workload,
    metric: record.metric,
  };
}

export type SplitKind = "fingerprint" | "requested-bits" | "negotiated-bits";

export interface SeriesSplit {
  /** 0-based night of the series that starts the new segment. */
  readonly index: number;
  readonly date: string;
  readonly kind: SplitKind;
  readonly reason: string;
}

export interface HistorySeries {
  readonly key: SeriesKey;
  readonly id: string;
  /** The nights, oldest first. */
  readonly records: readonly HistoryRecord[];
  /** [start, end) night ranges between splits. */
  readonly segments: readonly (readonly [number, number])[];
  readonly splits: readonly SeriesSplit[];
}

function bits(list: readonly number[] | null): string {
  return list === null ? "unknown" : list.length === 0 ? "none" : list.join(",");
}

function fingerprintDifference(a: HistoryRecord, b: HistoryRecord): string {
  const differences: string[] = [];
  if (a.qemuVersion !== b.qemuVersion) differences.push(`QEMU ${a.qemuVersion} → ${b.qemuVersion}`);
  if (a.accelerator !== b.accelerator) {
    differences.push(`accelerator ${a.accelerator} → ${b.accelerator}`);
  }
  const keys = [...new Set([...Object.keys(a.fingerprint), ...Object.keys(b.fingerprint)])]
    .filter((k) => !isKernelBuildKey(k))
    .sort();
  for (const key of keys) {
    const x = JSON.stringify(a.fingerprint[key] ?? null);
    const y = JSON.stringify(b.fingerprint[key] ?? null);
    if (x !== y) differences.push(`${key} ${x} → ${y}`);
  }
  return differences.length === 0 ? "environment hash changed" : differences.join("; ");
}

/** Why night `b` cannot be compared with night `a` (the segment's last night), if it cannot. */
function splitBetween(
  a: HistoryRecord,
  lastKnownBits: readonly number[] | null,
  b: HistoryRecord,
): { kind: SplitKind; reason: string } | undefined {
  if (a.fingerprintHash !== b.fingerprintHash) {
    return { kind: "fingerprint", reason: `fingerprint changed: ${fingerprintDifference(a, b)}` };
  }
  if (bits(a.config.requestedBits) !== bits(b.config.requestedBits)) {
    return {
      kind: "requested-bits",
      reason: `requested bits changed: ${bits(a.config.requestedBits)} → ${bits(b.config.requestedBits)}`,
    };
  }
  // Unknown negotiated bits (null) neither start nor end a segment.
  if (
    lastKnownBits !== null &&
    b.config.negotiatedBits !== null &&
    bits(lastKnownBits) !== bits(b.config.negotiatedBits)
  ) {
    return {
      kind: "negotiated-bits",
      reason: `negotiated bits changed: ${bits(lastKnownBits)} → ${bits(b.config.negotiatedBits)}`,
    };
  }
  return undefined;
}

/** Groups records into series (sorted by id) and finds their splits. */
export function buildSeries(records: readonly HistoryRecord[]): HistorySeries[] {
  const groups = new Map<string, { key: SeriesKey; records: HistoryRecord[] }>();
  for (const record of records) {
    const key = seriesKeyOf(record);
    const id = seriesId(key);
    const group = groups.get(id) ?? { key, records: [] };
    group.records.push(record);
    groups.set(id, group);
  }
  const result: HistorySeries[] = [];
  for (const [id, group] of groups) {
    const sorted = [...group.records].sort(compareRecords);
    const splits: SeriesSplit[] = [];
    const segments: [number, number][] = [];
    let start = 0;
    let lastKnownBits = sorted[0]?.config.negotiatedBits ?? null;
    for (let i = 1; i < sorted.length; i++) {
      const previous = sorted[i - 1]!;
      const current = sorted[i]!;
      const split = splitBetween(previous, lastKnownBits, current);
      if (split !== undefined) {
        splits.push({ index: i, date: current.date, ...split });
        segments.push([start, i]);
        start = i;
        lastKnownBits = null;
      }
      if (current.config.negotiatedBits !== null) lastKnownBits = current.config.negotiatedBits;
    }
    if (sorted.length > 0) segments.push([start, sorted.length]);
    result.push({ key: group.key, id, records: sorted, segments, splits });
  }
  return result.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
