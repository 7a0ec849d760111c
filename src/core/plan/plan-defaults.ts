/**
 * Every default of a plan, in one place: the plan file, the `run`/`calibrate`/`up` flags and
 * their --help text all read them from here.
 */

/** Memory the guest kernel and userspace need besides alloc_once's allocation. */
export const GUEST_RESERVE_MIB = 384;

/**
 * Without the series' flush parameter, free page reporting runs from a delayed work item
 * (mm/page_reporting.c: PAGE_REPORTING_DELAY = 2 s after enough free pages accumulate); waiting
 * 3 s lets it report what the previous iteration freed before the next one allocates.
 */
export const DEFAULT_SETTLE_MS = 3_000;
export const DEFAULT_EVENTS = ["task-clock", "instructions", "cache-misses"] as const;

/** /proc/vmstat fields recorded per iteration unless the plan names others. */
export const DEFAULT_VMSTAT = [
  "pgfault",
  "pgalloc_normal",
  "pgfree",
  "thp_fault_alloc",
  "thp_fault_fallback",
  "htlb_buddy_alloc_success",
  "balloon_inflate",
  "balloon_deflate",
] as const;

export const PLAN_DEFAULTS = {
  memoryMiB: 2048,
  vcpus: 2,
  /** vm.memMerge: QEMU marks guest RAM mergeable by default; a host with KSM on would merge its zeroed pages. */
  memMerge: false,
  /** vm.memoryBacking: anonymous | memfd | hugetlb (vm-options.ts). */
  memoryBacking: "anonymous",
  /** vm.allowHugetlbBalloon: a hugetlb-backed guest with a balloon scenario is refused unless true. */
  allowHugetlbBalloon: false,
  iterations: 10,
  warmups: 0,
  sizeMiB: 256,
  bits: [5] as readonly number[],
  accel: "auto",
  settleMs: DEFAULT_SETTLE_MS,
  bootTimeoutS: 120,
  inflateTimeoutS: 120,
  kernel: { name: "debian-stock", path: "debian:amd64" },
} as const;

/** Boots per kernel × config when the plan does not say: see defaultRounds. */
export const DEFAULT_ROUNDS_MAX = 10;

/**
 * Iterations are spread over this many boots per cell unless the plan sets `rounds`: one
 * iteration per boot up to 10 boots. The boot is the unit of a comparison, and boots differ more
 * than iterations inside one (npm run bench:verdicts: at 10 iterations, 10 boots of 1 detect a
 * 10 % change 88 % of the time where 5 boots of 2 detect it 50 %).
 */
export function defaultRounds(iterations: number): number {
  return Math.min(iterations, DEFAULT_ROUNDS_MAX);
}

/** How long QEMU may not answer QMP during an iteration before the boot is given up. */
export const HANG_TIMEOUT_MS = 120_000;

/**
 * How long one iteration may take unless the plan sets `iterationTimeoutS`: two minutes, plus
 * the settle time, plus 100 ms per MiB allocated (TCG takes about 10 ms), plus both balloon moves.
 */
export function iterationTimeoutMs(
  plan: { readonly settleMs: number; readonly iterationTimeoutMs?: number | undefined },
  workload: {
    readonly sizeMiB: number;
    readonly balloon: { readonly kind: string; readonly timeoutMs?: number };
  },
): number {
  if (plan.iterationTimeoutMs !== undefined) return plan.iterationTimeoutMs;
  const balloon =
    workload.balloon.kind === "inflate-deflate" ? 2 * (workload.balloon.timeoutMs ?? 0) : 0;
  return 120_000 + plan.settleMs + workload.sizeMiB * 100 + balloon;
}
