import { z } from "zod";
import { median } from "../stats/descriptive.js";
import { OUTLIER_Z, modifiedZScores } from "../stats/outliers.js";
import type { Sample } from "../results-format/sample.js";

/**
 * Host interference across one iteration's perf command: CPU time QEMU spent outside its vCPU
 * threads (main loop, I/O, RCU, workers: what the host does for the guest, and what competes
 * with it), and the host's run-queue pressure. Pure: parsers of /proc texts and the deltas.
 */

/** Linux reports task times in USER_HZ ticks, 100 per second on every architecture's ABI. */
export const USER_HZ = 100;

/** Pure: utime + stime (fields 14 and 15) of a /proc/PID/task/TID/stat text, in ticks. */
export function parseTaskStatTicks(stat: string): number | undefined {
  // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
  const rest = stat
    .slice(stat.lastIndexOf(")") + 2)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state): utime is field 14, rest[11]; stime rest[12].
  const [utime, stime] = [Number(rest[11]), Number(rest[12])];
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
}

/** What is read before and after a perf command (machine/host/qemu-interference.ts). */
export interface HostSample {
  /** CPU ticks of each QEMU thread, by thread id. */
  readonly threadTicks: ReadonlyMap<number, number>;
  readonly vcpuThreadIds: readonly number[];
  /** /proc/pressure/cpu `some total` (µs); null without PSI. */
  readonly cpuPressureTotalUs: number | null;
  readonly cpuPressureAvg10: number | null;
  readonly procsRunning: number | null;
  readonly cpuTicks: { readonly steal: number; readonly total: number } | null;
  /** Resident KiB of QEMU on each host NUMA node (numa_maps), when read (after the command). */
  readonly numaKiB?: Readonly<Record<string, number>> | undefined;
}

export const interferenceSchema = z.object({
  /** Host CPU time of QEMU's threads other than the vCPUs (threads started meanwhile included). */
  nonVcpuCpuMs: z.number(),
  nonVcpuThreads: z.int(),
  /** Host CPU time of the vCPU threads: the guest's own work as the host saw it. */
  vcpuCpuMs: z.number(),
  /** PSI: time some task waited for a CPU during the command (ms), and avg10 after it. */
  cpuPressureStallMs: z.number().nullable(),
  cpuPressureAvg10: z.number().nullable(),
  /** Runnable tasks after the command (/proc/stat; the fallback without PSI). */
  procsRunning: z.number().nullable(),
  /** Steal as a share of all host CPU time during the command (percent). */
  hostStealPct: z.number().nullable(),
  /** Where QEMU's memory was after the command: resident KiB by host NUMA node. */
  qemuNumaKiB: z.record(z.string(), z.number()).optional(),
});
export type Interference = z.infer<typeof interferenceSchema>;

const ticksToMs = (ticks: number): number => (ticks * 1000) / USER_HZ;

/** Pure: the interference between two samples of the same QEMU. */
export function interferenceBetween(before: HostSample, after: HostSample): Interference {
  const vcpus = new Set(after.vcpuThreadIds);
  let nonVcpu = 0;
  let vcpu = 0;
  let nonVcpuThreads = 0;
  for (const [tid, ticks] of after.threadTicks) {
    const delta = Math.max(0, ticks - (before.threadTicks.get(tid) ?? 0));
    if (vcpus.has(tid)) vcpu += delta;
    else {
      nonVcpu += delta;
      nonVcpuThreads += 1;
    }
  }
  const stall =
    before.cpuPressureTotalUs === null || after.cpuPressureTotalUs === null
      ? null
      : Math.max(0, after.cpuPressureTotalUs - before.cpuPressureTotalUs) / 1000;
  const total = (after.cpuTicks?.total ?? 0) - (before.cpuTicks?.total ?? 0);
  const steal = (after.cpuTicks?.steal ?? 0) - (before.cpuTicks?.steal ?? 0);
  return {
    nonVcpuCpuMs: ticksToMs(nonVcpu),
    nonVcpuThreads,
    vcpuCpuMs: ticksToMs(vcpu),
    cpuPressureStallMs: stall,
    cpuPressureAvg10: after.cpuPressureAvg10,
    procsRunning: after.procsRunning,
    hostStealPct:
      before.cpuTicks === null || after.cpuTicks === null || total <= 0
        ? null
        : (100 * steal) / total,
    ...(after.numaKiB === undefined ? {} : { qemuNumaKiB: { ...after.numaKiB } }),
  };
}

/** The measures the outlier rule looks at, with the smallest excess that counts. */
const MEASURES = [
  {
    key: "nonVcpuCpuMs",
    floor: 20,
    describe: (v: number, m: number) =>
      `QEMU's non-vCPU threads used ${v.toFixed(0)} ms of host CPU (median ${m.toFixed(0)} ms)`,
  },
  {
    key: "cpuPressureStallMs",
    floor: 50,
    describe: (v: number, m: number) =>
      `host tasks waited ${v.toFixed(0)} ms for a CPU (PSI; median ${m.toFixed(0)} ms)`,
  },
  {
    key: "hostStealPct",
    floor: 2,
    describe: (v: number, m: number) =>
      `host steal was ${v.toFixed(1)} % (median ${m.toFixed(1)} %)`,
  },
] as const;

/** The rule: a modified z-score above 3.5, or more than twice the median, by at least `floor`. */
function isOutlier(value: number, med: number, z: number | undefined, floor: number): boolean {
  if (value - med < floor) return false;
  return (z !== undefined && z > OUTLIER_Z) || value > 2 * med;
}

type InterferenceSample = Pick<Sample, "iteration" | "warmup" | "boot" | "round" | "telemetry">;

/**
 * Pure: the counted iterations that ran under visibly more host load than the others of their
 * boot (of their cell, when boots ran fewer than 3 iterations), as words for compare's flags.
 */
export function interferenceOutliers(
  samples: readonly InterferenceSample[],
  label: string,
): string[] {
  const counted = samples.filter((s) => !s.warmup && s.telemetry?.interference !== undefined);
  const byBoot = new Map<string, InterferenceSample[]>();
  for (const s of counted) {
    const boot = s.boot ?? `round-${s.round ?? 1}`;
    byBoot.set(boot, [...(byBoot.get(boot) ?? []), s]);
  }
  const perBoot = [...byBoot.values()].every((group) => group.length >= 3);
  const groups = perBoot ? [...byBoot.values()] : [counted];
  const flags: string[] = [];
  for (const group of groups) {
    if (group.length < 3) continue;
    for (const measure of MEASURES) {
      const values = group.map((s) => s.telemetry?.interference?.[measure.key] ?? null);
      if (values.some((v) => v === null)) continue;
      const numbers = values as number[];
      const med = median(numbers);
      const z = modifiedZScores(numbers);
      numbers.forEach((value, i) => {
        if (!isOutlier(value, med, z[i], measure.floor)) return;
        const s = group[i];
        flags.push(
          `${label}: iteration ${s?.iteration ?? "?"} (boot ${s?.boot ?? "?"}) ran under more host load than ${perBoot ? "its boot's" : "the cell's"} others: ${measure.describe(value, med)}`,
        );
      });
    }
  }
  return flags;
}
