import { firstDifference } from "../plan/plan.js";
import type { CellView, Fingerprint, RunManifest } from "./manifest.js";

/** What identifies the measurements of a run: its plan, seed, shard and environment. */
export interface RunIdentity {
  readonly planHash: string;
  readonly planRecord: Readonly<Record<string, unknown>>;
  /** Undefined for a new run whose plan names no seed: any recorded seed is reused. */
  readonly seed: number | undefined;
  readonly shard: { readonly index: number; readonly count: number } | null;
  readonly fingerprint: Fingerprint;
}

export function runIdentity(manifest: RunManifest): RunIdentity {
  return {
    planHash: manifest.plan.hash,
    planRecord: manifest.plan.record,
    seed: manifest.plan.seed,
    shard: manifest.shard,
    fingerprint: manifest.fingerprint,
  };
}

/** Pure: the first field in which two fingerprints differ, as words; undefined when equal. */
export function fingerprintDifference(a: Fingerprint, b: Fingerprint): string | undefined {
  for (const key of Object.keys(a) as (keyof Fingerprint)[]) {
    const [x, y] = [JSON.stringify(a[key]), JSON.stringify(b[key])];
    if (x !== y) return `${key} ${x} vs ${y}`;
  }
  return undefined;
}

export type Conflict =
  | { readonly field: "plan"; readonly detail: string }
  | { readonly field: "seed"; readonly a: number; readonly b: number }
  | { readonly field: "shard"; readonly a: string; readonly b: string }
  | { readonly field: "fingerprint"; readonly detail: string };

/**
 * Pure: the one rule for combining measurements. Resuming a directory needs the same plan,
 * seed, shard and environment; merging shards needs the same plan, seed and environment (the
 * shards themselves differ). Returns the first conflict, or undefined when compatible.
 */
export function compatible(
  a: RunIdentity,
  b: RunIdentity,
  purpose: "resume" | "merge",
): Conflict | undefined {
  if (a.planHash !== b.planHash) {
    return {
      field: "plan",
      detail:
        firstDifference(a.planRecord, b.planRecord) ??
        `plan hash ${a.planHash.slice(0, 12)} vs ${b.planHash.slice(0, 12)}`,
    };
  }
  if (a.seed !== undefined && b.seed !== undefined && a.seed !== b.seed) {
    return { field: "seed", a: a.seed, b: b.seed };
  }
  if (purpose === "resume" && JSON.stringify(a.shard) !== JSON.stringify(b.shard)) {
    return { field: "shard", a: JSON.stringify(a.shard), b: JSON.stringify(b.shard) };
  }
  const difference = fingerprintDifference(a.fingerprint, b.fingerprint);
  return difference === undefined ? undefined : { field: "fingerprint", detail: difference };
}

/** What compare checks between a baseline and a candidate cell's environments. */
export interface EnvironmentDifference {
  readonly key: keyof CellView["environment"];
  readonly a: string;
  readonly b: string;
  /** Timings under different accelerators are not comparable: refused unless forced. */
  readonly refuse: boolean;
}

export function environmentDifferences(
  a: CellView["environment"],
  b: CellView["environment"],
): EnvironmentDifference[] {
  return (["accelerator", "qemuVersion", "cpuModel"] as const)
    .filter((key) => a[key] !== b[key])
    .map((key) => ({ key, a: a[key], b: b[key], refuse: key === "accelerator" }));
}
