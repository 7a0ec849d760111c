import { z } from "zod";
import { formatCpuList, parseCpuList } from "./cpu-list.js";

/**
 * The host settings that decide how stable a guest's timings are, parsed from the texts of /sys
 * and /proc files (read by machine/host/read-host-state.ts, from "/" or a recorded tree). Paths
 * are relative to that root. A file that is absent (no cpufreq in a VM, no PSI) is "unknown".
 */
export const HOST_FILES = {
  online: "sys/devices/system/cpu/online",
  possible: "sys/devices/system/cpu/possible",
  isolated: "sys/devices/system/cpu/isolated",
  nohzFull: "sys/devices/system/cpu/nohz_full",
  smtControl: "sys/devices/system/cpu/smt/control",
  smtActive: "sys/devices/system/cpu/smt/active",
  noTurbo: "sys/devices/system/cpu/intel_pstate/no_turbo",
  cpufreqBoost: "sys/devices/system/cpu/cpufreq/boost",
  thpEnabled: "sys/kernel/mm/transparent_hugepage/enabled",
  thpDefrag: "sys/kernel/mm/transparent_hugepage/defrag",
  ksmRun: "sys/kernel/mm/ksm/run",
  numaOnline: "sys/devices/system/node/online",
  hugepagesFree: "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
  hugepagesTotal: "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
  perfEventParanoid: "proc/sys/kernel/perf_event_paranoid",
  loadavg: "proc/loadavg",
  stat: "proc/stat",
  cpuPressure: "proc/pressure/cpu",
} as const;

/** The cpufreq files of one CPU. */
export function cpufreqFiles(cpu: number): { governor: string; available: string; driver: string } {
  const dir = `sys/devices/system/cpu/cpu${cpu}/cpufreq`;
  return {
    governor: `${dir}/scaling_governor`,
    available: `${dir}/scaling_available_governors`,
    driver: `${dir}/scaling_driver`,
  };
}

/** File texts by path relative to the root; an unreadable file is simply not there. */
export type HostFiles = ReadonlyMap<string, string>;

const cpuListText = z.string();

/** Load and contention at one moment: recorded at the start of every boot. */
export const hostLoadSchema = z.object({
  loadAvg: z.tuple([z.number(), z.number(), z.number()]).nullable(),
  procsRunning: z.number().nullable(),
  /** Cumulative since the host booted (USER_HZ ticks), from the `cpu` line of /proc/stat. */
  stealTicks: z.number().nullable(),
  totalTicks: z.number().nullable(),
  /** PSI: share of the last 10 s some runnable task waited for a CPU (percent); null without PSI. */
  cpuPressureSomeAvg10: z.number().nullable(),
  cpuPressureSomeTotalUs: z.number().nullable(),
});
export type HostLoad = z.infer<typeof hostLoadSchema>;

export const hostStateSchema = z.object({
  cpus: z.object({ online: cpuListText.nullable(), possible: cpuListText.nullable() }),
  /** cpufreq of each online CPU; null when the host has no cpufreq (a VM, a fixed clock). */
  cpufreq: z
    .object({
      driver: z.string().nullable(),
      governors: z.record(z.string(), z.string()),
      available: z.array(z.string()),
    })
    .nullable(),
  /** Boost/turbo: null when neither intel_pstate/no_turbo nor cpufreq/boost exists. */
  boost: z
    .object({
      on: z.boolean(),
      source: z.enum(["intel_pstate/no_turbo", "cpufreq/boost"]),
    })
    .nullable(),
  smt: z.object({ control: z.string(), active: z.boolean().nullable() }).nullable(),
  thp: z.object({ enabled: z.string().nullable(), defrag: z.string().nullable() }),
  /** /sys/kernel/mm/ksm/run: 0 stopped, 1 merging, 2 stopped and unmerged; null without KSM. */
  ksmRun: z.number().nullable(),
  numaNodes: cpuListText.nullable(),
  isolatedCpus: cpuListText.nullable(),
  nohzFull: cpuListText.nullable(),
  perfEventParanoid: z.number().nullable(),
  hugepages2M: z.object({ total: z.number(), free: z.number() }).nullable(),
  load: hostLoadSchema,
});
export type HostState = z.infer<typeof hostStateSchema>;

const text = (files: HostFiles, path: string): string | undefined => files.get(path)?.trim();

function intOf(value: string | undefined): number | null {
  if (value === undefined || !/^-?\d+$/.test(value)) return null;
  return Number(value);
}

/** Pure: the active choice of a sysfs selector file ("always [madvise] never" → "madvise"). */
export function activeChoice(value: string | undefined): string | null {
  if (value === undefined || value === "") return null;
  const bracketed = /\[([^\]]+)\]/.exec(value);
  return bracketed?.[1] ?? value.split(/\s+/)[0] ?? null;
}

/** Pure: the online CPUs (from /sys/devices/system/cpu/online); undefined when unknown. */
export function onlineCpus(files: HostFiles): number[] | undefined {
  const online = text(files, HOST_FILES.online);
  return online === undefined ? undefined : parseCpuList(online);
}

function cpufreqOf(files: HostFiles): HostState["cpufreq"] {
  const governors: Record<string, string> = {};
  const available = new Set<string>();
  let driver: string | null = null;
  for (const cpu of onlineCpus(files) ?? []) {
    const paths = cpufreqFiles(cpu);
    const governor = text(files, paths.governor);
    if (governor === undefined) continue;
    governors[String(cpu)] = governor;
    for (const name of (text(files, paths.available) ?? "").split(/\s+/))
      if (name !== "") available.add(name);
    driver ??= text(files, paths.driver) ?? null;
  }
  if (Object.keys(governors).length === 0) return null;
  return { driver, governors, available: [...available].sort() };
}

function boostOf(files: HostFiles): HostState["boost"] {
  const noTurbo = intOf(text(files, HOST_FILES.noTurbo));
  if (noTurbo !== null) return { on: noTurbo === 0, source: "intel_pstate/no_turbo" };
  const boost = intOf(text(files, HOST_FILES.cpufreqBoost));
  if (boost !== null) return { on: boost !== 0, source: "cpufreq/boost" };
  return null;
}

/** Pure: the `cpu` line of /proc/stat as steal and total ticks (user..steal; guest is in user). */
export function parseCpuTicks(stat: string | undefined): { steal: number; total: number } | null {
  const line = stat?.split("\n").find((l) => /^cpu\s/.test(l));
  if (line === undefined) return null;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 8 || fields.some((f) => !Number.isFinite(f))) return null;
  return { steal: fields[7] ?? 0, total: fields.reduce((sum, f) => sum + f, 0) };
}

/** Pure: procs_running from /proc/stat (runnable tasks now, the run queue's length). */
export function parseProcsRunning(stat: string | undefined): number | null {
  const match = /^procs_running\s+(\d+)$/m.exec(stat ?? "");
  return match?.[1] === undefined ? null : Number(match[1]);
}

/** Pure: the `some` line of /proc/pressure/cpu; null when PSI is off or absent. */
export function parseCpuPressure(
  pressure: string | undefined,
): { avg10: number; totalUs: number } | null {
  const match = /^some\s+avg10=([\d.]+)\s+avg60=[\d.]+\s+avg300=[\d.]+\s+total=(\d+)$/m.exec(
    pressure ?? "",
  );
  if (match?.[1] === undefined || match[2] === undefined) return null;
  return { avg10: Number(match[1]), totalUs: Number(match[2]) };
}

/** Pure: load and contention from /proc/loadavg, /proc/stat and /proc/pressure/cpu. */
export function parseHostLoad(files: HostFiles): HostLoad {
  const loadavg = text(files, HOST_FILES.loadavg)?.split(/\s+/).slice(0, 3).map(Number);
  const ticks = parseCpuTicks(files.get(HOST_FILES.stat));
  const pressure = parseCpuPressure(files.get(HOST_FILES.cpuPressure));
  return {
    loadAvg:
      loadavg?.length === 3 && loadavg.every(Number.isFinite)
        ? [loadavg[0] as number, loadavg[1] as number, loadavg[2] as number]
        : null,
    procsRunning: parseProcsRunning(files.get(HOST_FILES.stat)),
    stealTicks: ticks?.steal ?? null,
    totalTicks: ticks?.total ?? null,
    cpuPressureSomeAvg10: pressure?.avg10 ?? null,
    cpuPressureSomeTotalUs: pressure?.totalUs ?? null,
  };
}

function listOrNull(value: string | undefined): string | null {
  if (value === undefined) return null;
  const cpus = parseCpuList(value);
  return cpus === undefined ? value : formatCpuList(cpus);
}

/** Pure: every setting from the files read under one root. */
export function parseHostState(files: HostFiles): HostState {
  const smtControl = text(files, HOST_FILES.smtControl);
  const smtActive = intOf(text(files, HOST_FILES.smtActive));
  const hugeTotal = intOf(text(files, HOST_FILES.hugepagesTotal));
  const hugeFree = intOf(text(files, HOST_FILES.hugepagesFree));
  return {
    cpus: {
      online: listOrNull(text(files, HOST_FILES.online)),
      possible: listOrNull(text(files, HOST_FILES.possible)),
    },
    cpufreq: cpufreqOf(files),
    boost: boostOf(files),
    smt:
      smtControl === undefined
        ? null
        : { control: smtControl, active: smtActive === null ? null : smtActive === 1 },
    thp: {
      enabled: activeChoice(text(files, HOST_FILES.thpEnabled)),
      defrag: activeChoice(text(files, HOST_FILES.thpDefrag)),
    },
    ksmRun: intOf(text(files, HOST_FILES.ksmRun)),
    numaNodes: listOrNull(text(files, HOST_FILES.numaOnline)),
    isolatedCpus: listOrNull(text(files, HOST_FILES.isolated)),
    nohzFull: listOrNull(text(files, HOST_FILES.nohzFull)),
    perfEventParanoid: intOf(text(files, HOST_FILES.perfEventParanoid)),
    hugepages2M:
      hugeTotal === null || hugeFree === null ? null : { total: hugeTotal, free: hugeFree },
    load: parseHostLoad(files),
  };
}

/** Pure: the governors of a state in one phrase: "performance", or "powersave on 0-1, performance on 2-3". */
export function governorSummary(cpufreq: NonNullable<HostState["cpufreq"]>): string {
  const byGovernor = new Map<string, number[]>();
  for (const [cpu, governor] of Object.entries(cpufreq.governors))
    byGovernor.set(governor, [...(byGovernor.get(governor) ?? []), Number(cpu)]);
  if (byGovernor.size === 1) return [...byGovernor.keys()][0] ?? "";
  return [...byGovernor]
    .map(([governor, cpus]) => `${governor} on ${formatCpuList(cpus)}`)
    .join(", ");
}

/**
 * Pure: the settings that change how a guest's timings behave, as words: compared between runs
 * (`hostSettingDifferences`), unlike the load, which changes from minute to minute.
 */
export function hostSettings(state: HostState): Record<string, string> {
  return {
    governor: state.cpufreq === null ? "no cpufreq" : governorSummary(state.cpufreq),
    boost: state.boost === null ? "unknown" : state.boost.on ? "on" : "off",
    smt: state.smt === null ? "unknown" : state.smt.control,
    "thp.enabled": state.thp.enabled ?? "unknown",
    "thp.defrag": state.thp.defrag ?? "unknown",
    ksm: state.ksmRun === null ? "unknown" : String(state.ksmRun),
  };
}

export interface HostSettingDifference {
  readonly setting: string;
  readonly a: string;
  readonly b: string;
}

/**
 * Pure: the host settings in which two runs differ, by name. Nothing when either side was not
 * recorded (results of earlier versions).
 */
export function hostSettingDifferences(
  a: HostState | undefined,
  b: HostState | undefined,
): HostSettingDifference[] {
  if (a === undefined || b === undefined) return [];
  const [x, y] = [hostSettings(a), hostSettings(b)];
  return Object.keys(x)
    .filter((setting) => x[setting] !== y[setting])
    .map((setting) => ({ setting, a: x[setting] ?? "", b: y[setting] ?? "" }));
}

/** Pure: one difference as words, for compare's and merge's flags. */
export function describeHostDifference(d: HostSettingDifference): string {
  return `host setting ${d.setting} differs: ${d.a} vs ${d.b}`;
}
