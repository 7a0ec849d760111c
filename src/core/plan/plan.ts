import { createHash } from "node:crypto";
import type { KernelSpec } from "./kernel-spec.js";
import type { AcceleratorRequest } from "../qemu/accelerator.js";
import type { MemoryBacking } from "../qemu/qemu-argv.js";

/**
 * An experiment: every kernel build × feature config × workload is a cell. The plan is plain
 * data: the plan file and the `run` flags both become one, and everything downstream (schedule,
 * results, compare) reads only this.
 */
export interface Plan {
  readonly kernels: readonly KernelSpec[];
  readonly configs: readonly FeatureConfig[];
  readonly workloads: readonly Workload[];
  /** Counted iterations per cell, spread over `rounds` boots. */
  readonly iterations: number;
  /** Warm-up iterations at the start of every boot (run and recorded, not counted). */
  readonly warmups: number;
  /** Boots per kernel × config; the order of boots is shuffled within each round. */
  readonly rounds: number;
  /** Seed of the interleaving; undefined means "pick one and record it". */
  readonly seed: number | undefined;
  readonly memoryMiB: number;
  readonly vcpus: number;
  /** Guest RAM: may KSM merge it (QEMU's mem-merge), and what backs it (vm-options.ts). */
  readonly memMerge: boolean;
  readonly memoryBacking: MemoryBacking;
  /** Hugetlb backing with a balloon scenario, run anyway (warned and recorded). */
  readonly allowHugetlbBalloon: boolean;
  /** Host CPU of each vCPU, in order; undefined: not pinned. Recorded per boot, not hashed. */
  readonly pin?: readonly number[] | undefined;
  readonly accel: AcceleratorRequest;
  readonly events: readonly string[];
  /** Settle time before each iteration on kernels without the series' flush parameter. */
  readonly settleMs: number;
  /** "rss": end the settle when QEMU's RSS stops falling (at most settleMs); undefined: fixed. */
  readonly settleMode?: "rss" | undefined;
  readonly bootTimeoutMs: number;
  /** Set by the plan; undefined means derived per workload (iterationTimeoutMs). */
  readonly iterationTimeoutMs?: number | undefined;
  /** Set by the plan; undefined means HANG_TIMEOUT_MS. */
  readonly hangTimeoutMs?: number | undefined;
  /** /proc/vmstat fields whose per-iteration deltas are recorded. */
  readonly vmstat: readonly string[];
  /** Poll guest memory statistics through the balloon device after each iteration. */
  readonly guestStats: boolean;
  /** A virtio_balloon.ko to insmod in place of the kernel's, as bench.sh does. */
  readonly balloonModule?: string | undefined;
}

export interface FeatureConfig {
  readonly name: string;
  /** Balloon feature bits the device offers. */
  readonly bits: readonly number[];
  /** Bit → virtio-balloon-pci property, after the config's overrides. */
  readonly propertyMap: ReadonlyMap<number, string>;
  /** Extra device properties, passed to QEMU verbatim. */
  readonly deviceProperties: readonly (readonly [string, string])[];
}

/** How the workload's pages are backed: bench.sh's plain and `huge` runs, or THP forced. */
export type PageMode = "default" | "small" | "thp" | "hugetlb";

export type BalloonScenario =
  /** Nothing between iterations but drop_caches. */
  | { readonly kind: "none" }
  /** bench.sh: flush free page reporting before each iteration (the bit 6 path). */
  | { readonly kind: "page-reporting" }
  /** Inflate by `inflateMiB` over QMP, wait, deflate, wait, then run: the bit 7 path. */
  | { readonly kind: "inflate-deflate"; readonly inflateMiB: number; readonly timeoutMs: number };

export interface Workload {
  readonly name: string;
  readonly sizeMiB: number;
  readonly pages: PageMode;
  readonly balloon: BalloonScenario;
  /** Restricts the workload to these kernels / configs (all when undefined). */
  readonly kernels?: readonly string[] | undefined;
  readonly configs?: readonly string[] | undefined;
}

export interface Cell {
  readonly id: string;
  readonly kernel: string;
  readonly config: string;
  readonly workload: string;
}

/** A cell id safe as a folder name: kernel, config and workload labels joined by "__". */
export function cellId(kernel: string, config: string, workload: string): string {
  return [kernel, config, workload].map((part) => part.replace(/[^A-Za-z0-9._-]/g, "_")).join("__");
}

/** Pure: every cell of the plan in plan order (kernel, then config, then workload). */
export function planCells(plan: Plan): Cell[] {
  const cells: Cell[] = [];
  for (const kernel of plan.kernels) {
    for (const config of plan.configs) {
      for (const workload of plan.workloads) {
        if (workload.kernels !== undefined && !workload.kernels.includes(kernel.name)) continue;
        if (workload.configs !== undefined && !workload.configs.includes(config.name)) continue;
        cells.push({
          id: cellId(kernel.name, config.name, workload.name),
          kernel: kernel.name,
          config: config.name,
          workload: workload.name,
        });
      }
    }
  }
  return cells;
}

/** The plan as canonical JSON-able data (maps as sorted entries), for hashing and the manifest. */
export function planRecord(plan: Plan): Record<string, unknown> {
  return {
    kernels: plan.kernels.map((k) => ({
      name: k.name,
      path: k.kernelPath,
      modules: k.modulesDir ?? null,
      cmdline: k.cmdline,
      // Only for kernels built from a tree, so other plans keep the hash they always had.
      ...(k.build === undefined
        ? {}
        : {
            build: {
              tree: k.build.tree,
              ref: k.build.ref ?? null,
              patches: k.build.patches ?? [],
              config: k.build.config ?? null,
              fragments: k.build.fragments ?? [],
            },
          }),
    })),
    configs: plan.configs.map((c) => ({
      name: c.name,
      bits: c.bits,
      propertyMap: [...c.propertyMap].sort(([a], [b]) => a - b),
      deviceProperties: c.deviceProperties,
    })),
    workloads: plan.workloads.map((w) => ({
      name: w.name,
      sizeMiB: w.sizeMiB,
      pages: w.pages,
      balloon: w.balloon,
      kernels: w.kernels ?? null,
      configs: w.configs ?? null,
    })),
    iterations: plan.iterations,
    warmups: plan.warmups,
    rounds: plan.rounds,
    memoryMiB: plan.memoryMiB,
    vcpus: plan.vcpus,
    memMerge: plan.memMerge,
    memoryBacking: plan.memoryBacking,
    allowHugetlbBalloon: plan.allowHugetlbBalloon,
    accel: plan.accel,
    events: plan.events,
    settleMs: plan.settleMs,
    bootTimeoutMs: plan.bootTimeoutMs,
    // Recorded only when set, so plans that leave them out keep the hash they always had.
    ...(plan.iterationTimeoutMs === undefined
      ? {}
      : { iterationTimeoutMs: plan.iterationTimeoutMs }),
    ...(plan.hangTimeoutMs === undefined ? {} : { hangTimeoutMs: plan.hangTimeoutMs }),
    ...(plan.settleMode === undefined ? {} : { settleMode: plan.settleMode }),
    vmstat: plan.vmstat,
    guestStats: plan.guestStats,
    balloonModule: plan.balloonModule ?? null,
  };
}

/**
 * sha256 of the plan's canonical record. The seed is left out: a plan without one gets a fresh
 * seed on its first run, and a resume reuses the recorded one.
 */
export function planHash(plan: Plan): string {
  return createHash("sha256")
    .update(JSON.stringify(planRecord(plan)))
    .digest("hex");
}

/** bench.sh's workload label for a size, e.g. "alloc_once-256M" or "alloc_once-256M-hugetlb". */
export function defaultWorkloadName(sizeMiB: number, pages: PageMode): string {
  return `alloc_once-${sizeMiB}M${pages === "default" ? "" : `-${pages}`}`;
}

/** A config label for a set of bits when the user did not name one. */
export function defaultConfigName(bits: readonly number[]): string {
  return bits.length === 0 ? "no-features" : `bits-${bits.join("-")}`;
}

/** Pure: where two JSON-able values first differ, as "path: a vs b"; undefined when equal. */
export function firstDifference(a: unknown, b: unknown, path = ""): string | undefined {
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const key of keys) {
      const sub = Array.isArray(a) ? `${path}[${key}]` : path === "" ? key : `${path}.${key}`;
      const found = firstDifference(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        sub,
      );
      if (found !== undefined) return found;
    }
  }
  return `${path === "" ? "(whole)" : path}: ${JSON.stringify(a) ?? "absent"} vs ${JSON.stringify(b) ?? "absent"}`;
}
