/**
 * The history record: one per cell × metric × night, with the boot-level summaries the change
 * point detector and the report need (never only the mean). Pure: no I/O.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { UsageError } from "../errors.js";
import type { HistoryRunInput } from "./history-input.js";

/** The record schema this code writes and reads; stores and records above it are refused. */
export const HISTORY_SCHEMA = 1;

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/, "an ISO 8601 date")
  .refine((s) => !Number.isNaN(Date.parse(s)), "a valid date");
const bit = z.number().int().min(0).max(63);
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex sha256");

const kernelSchema = z.strictObject({
  label: z.string().min(1),
  commit: z.string().min(1).optional(),
  patches: z.array(z.strictObject({ subject: z.string(), sha256: sha256Hex })).optional(),
  configSha256: sha256Hex.optional(),
  sha256: sha256Hex.optional(),
  /** The kernel's release (uname -r), when the run read it. */
  release: z.string().min(1).optional(),
});

/** Validates what the adapter hands to `history add` (the HistoryRunInput interface). */
export const historyRunInputSchema = z.strictObject({
  sourceRun: z.string().min(1),
  date: isoDate,
  fingerprint: z.record(z.string(), scalar),
  qemuVersion: z.string(),
  accelerator: z.string(),
  cells: z.array(
    z.strictObject({
      kernel: kernelSchema,
      config: z.string().min(1),
      requestedBits: z.array(bit),
      negotiatedBits: z.array(bit).nullable(),
      workload: z.string().min(1),
      samples: z.array(
        z.strictObject({
          boot: z.string().min(1),
          iteration: z.number().int(),
          metrics: z.record(z.string(), z.number().nullable()),
        }),
      ),
    }),
  ),
});

export const bootSummarySchema = z.strictObject({
  boot: z.string(),
  /** Counted iterations of this boot with a value for the metric. */
  n: z.number().int().min(1),
  mean: z.number(),
});

export const historyRecordSchema = z.strictObject({
  schema: z.literal(HISTORY_SCHEMA),
  /** Hash of sourceRun + cell + metric: adding the same run again finds the same ids. */
  id: z.string().regex(/^[0-9a-f]{32}$/),
  sourceRun: z.string().min(1),
  date: isoDate,
  kernel: kernelSchema,
  config: z.strictObject({
    name: z.string().min(1),
    requestedBits: z.array(bit),
    /** Read from the guest; null when the run could not read them. */
    negotiatedBits: z.array(bit).nullable(),
  }),
  workload: z.string().min(1),
  metric: z.string().min(1),
  qemuVersion: z.string(),
  accelerator: z.string(),
  fingerprint: z.record(z.string(), scalar),
  /** Hash of the environment: the fingerprint without kernel-build keys, QEMU, accelerator. */
  fingerprintHash: z.string().regex(/^[0-9a-f]{16}$/),
  boots: z.array(bootSummarySchema).min(1),
  nBoots: z.number().int().min(1),
  nIterations: z.number().int().min(1),
  /** Iterations of the cell without a value for this metric (not counted, not supported). */
  nMissing: z.number().int().min(0),
  /** Mean of the boot means: the night's value in a series. */
  mean: z.number(),
  /** Sample sd of the boot means; null with one boot. */
  sdBoots: z.number().nullable(),
  /** Median of all iteration values. */
  median: z.number(),
});

export type HistoryRecord = z.infer<typeof historyRecordSchema>;
export type BootSummary = z.infer<typeof bootSummarySchema>;

/**
 * Fingerprint keys that name the kernel build under test (`kernel`, `kernels.NAME`,
 * `kernelSha256`, ...). A new build of a kernel line is what the history is there to judge, so
 * these keys stay in the record but do not enter the environment hash that splits a series.
 */
export function isKernelBuildKey(key: string): boolean {
  return /^kernel/i.test(key);
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Keys sorted, so equal fingerprints hash equal whatever order the adapter wrote them in. */
function canonical(record: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(record)
      .sort()
      .map((k) => [k, record[k]]),
  );
}

export function fingerprintHash(
  fingerprint: Record<string, string | number | boolean | null>,
  qemuVersion: string,
  accelerator: string,
): string {
  const environment = Object.fromEntries(
    Object.entries(fingerprint).filter(([key]) => !isKernelBuildKey(key)),
  );
  return sha256(canonical({ environment: canonical(environment), qemuVersion, accelerator })).slice(
    0,
    16,
  );
}

export function recordId(
  sourceRun: string,
  kernel: string,
  config: string,
  workload: string,
  metric: string,
): string {
  return sha256(JSON.stringify([sourceRun, kernel, config, workload, metric])).slice(0, 32);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function sampleSd(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

/** Deterministic order: date, source run, kernel, config, workload, metric. */
export function compareRecords(a: HistoryRecord, b: HistoryRecord): number {
  return (
    Date.parse(a.date) - Date.parse(b.date) ||
    compareText(a.sourceRun, b.sourceRun) ||
    compareText(a.kernel.label, b.kernel.label) ||
    compareText(a.config.name, b.config.name) ||
    compareText(a.workload, b.workload) ||
    compareText(a.metric, b.metric)
  );
}

export interface RecordsFromRun {
  readonly records: HistoryRecord[];
  /** Cell × metric pairs without a single value (every iteration not counted). */
  readonly skipped: { cell: string; metric: string; reason: string }[];
}

type RunInput = z.infer<typeof historyRunInputSchema>;

/** Boot means of one metric of one cell; undefined when no iteration has a value. */
function recordOf(
  run: RunInput,
  hash: string,
  cell: RunInput["cells"][number],
  metric: string,
): HistoryRecord | undefined {
  const byBoot = new Map<string, number[]>();
  let missing = 0;
  for (const sample of cell.samples) {
    const value = sample.metrics[metric];
    if (value === undefined || value === null || !Number.isFinite(value)) {
      missing++;
      continue;
    }
    const list = byBoot.get(sample.boot) ?? [];
    list.push(value);
    byBoot.set(sample.boot, list);
  }
  if (byBoot.size === 0) return undefined;
  const boots = [...byBoot.entries()]
    .sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }))
    .map(([boot, values]) => ({ boot, n: values.length, mean: mean(values) }));
  const bootMeans = boots.map((b) => b.mean);
  const all = [...byBoot.values()].flat();
  return {
    schema: HISTORY_SCHEMA,
    id: recordId(run.sourceRun, cell.kernel.label, cell.config, cell.workload, metric),
    sourceRun: run.sourceRun,
    date: run.date,
    kernel: { ...cell.kernel },
    config: {
      name: cell.config,
      requestedBits: [...cell.requestedBits].sort((a, b) => a - b),
      negotiatedBits:
        cell.negotiatedBits === null ? null : [...cell.negotiatedBits].sort((a, b) => a - b),
    },
    workload: cell.workload,
    metric,
    qemuVersion: run.qemuVersion,
    accelerator: run.accelerator,
    fingerprint: Object.fromEntries(
      Object.keys(run.fingerprint)
        .sort(compareText)
        .map((k) => [k, run.fingerprint[k] ?? null]),
    ),
    fingerprintHash: hash,
    boots,
    nBoots: boots.length,
    nIterations: all.length,
    nMissing: missing,
    mean: mean(bootMeans),
    sdBoots: sampleSd(bootMeans),
    median: median(all),
  };
}

/** One record per cell × metric of a run; throws UsageError on input the schema refuses. */
export function recordsFromRun(input: HistoryRunInput): RecordsFromRun {
  const parsed = historyRunInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined ? "" : issue.path.join(".");
    throw new UsageError(
      `history input ${JSON.stringify(input.sourceRun ?? "?")} is not a valid run: ${where === "" ? "" : `${where}: `}${issue?.message ?? "invalid"}`,
      { hint: "pass a results directory written by `balloon-bench run`" },
    );
  }
  const run = parsed.data;
  const hash = fingerprintHash(run.fingerprint, run.qemuVersion, run.accelerator);
  const records: HistoryRecord[] = [];
  const skipped: { cell: string; metric: string; reason: string }[] = [];
  const seen = new Set<string>();
  for (const cell of run.cells) {
    const cellName = `${cell.kernel.label} · ${cell.config} · ${cell.workload}`;
    if (seen.has(cellName)) {
      throw new UsageError(`run ${run.sourceRun} has the cell ${cellName} twice`, {
        hint: "merge shards with `balloon-bench merge` before adding them to the history",
      });
    }
    seen.add(cellName);
    const metrics = [...new Set(cell.samples.flatMap((s) => Object.keys(s.metrics)))].sort(
      compareText,
    );
    for (const metric of metrics) {
      const record = recordOf(run, hash, cell, metric);
      if (record === undefined) {
        skipped.push({ cell: cellName, metric, reason: "no iteration has a value" });
      } else records.push(record);
    }
  }
  records.sort(compareRecords);
  return { records, skipped };
}
