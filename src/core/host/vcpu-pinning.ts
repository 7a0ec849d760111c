import { z } from "zod";
import { UsageError } from "../errors.js";
import { formatCpuList, formatCpuOrder, readCpuList } from "./cpu-list.js";

/**
 * vCPU pinning (`vm.pin`, `--pin CPUS`): vCPU i runs on the i-th CPU of the list, alone; every
 * other thread of QEMU (main loop, RCU, I/O and worker threads) runs on the online CPUs not in
 * the list, or on every online CPU when the list takes them all. Threads QEMU starts later
 * inherit the main thread's set. Pure: the plan and its check; machine/host/pin-vcpus.ts applies it.
 */

/**
 * Pure: a pin list as CPU numbers in the order written (vCPU i gets the i-th), or a one-line
 * UsageError naming `name` (--pin, vm.pin).
 */
export function parsePinList(text: string, name: string): number[] {
  const parsed = readCpuList(text);
  if (!parsed.ok)
    throw new UsageError(`${name} '${text}' is not a CPU list: ${parsed.problem}`, {
      hint: "write CPUs as N, N-M or a comma list of them, e.g. 2-3 or 2,3",
    });
  if (parsed.cpus.length === 0)
    throw new UsageError(`${name} is empty`, { hint: "list one host CPU per vCPU, e.g. 2-3" });
  return parsed.inOrder;
}

/** Pure: enough CPUs for the vCPUs (checked with the plan, before anything runs). */
export function checkPinCount(pin: readonly number[], vcpus: number, name: string): void {
  if (pin.length < vcpus)
    throw new UsageError(
      `${name} ${formatCpuOrder(pin)} lists ${pin.length} CPU${pin.length === 1 ? "" : "s"} for ${vcpus} vCPUs`,
      { hint: `list one host CPU per vCPU (${vcpus}), or lower the vCPUs` },
    );
}

/** Pure: every pinned CPU exists and is online on this host (checked before booting). */
export function checkPinOnline(
  pin: readonly number[],
  host: { readonly online: readonly number[]; readonly possible?: readonly number[] | undefined },
  name: string,
): void {
  const missing = pin.filter((cpu) => !host.online.includes(cpu));
  if (missing.length === 0) return;
  const absent = missing.filter(
    (cpu) => host.possible !== undefined && !host.possible.includes(cpu),
  );
  const one = missing.length === 1;
  const what =
    absent.length === missing.length
      ? `${one ? "does" : "do"} not exist on this host`
      : absent.length === 0
        ? `${one ? "is" : "are"} offline`
        : "do not exist or are offline";
  throw new UsageError(
    `${name}: CPU${missing.length === 1 ? "" : "s"} ${formatCpuList(missing)} ${what} (online: ${formatCpuList(host.online)})`,
    { hint: `pin to online CPUs (/sys/devices/system/cpu/online: ${formatCpuList(host.online)})` },
  );
}

export interface VcpuThread {
  readonly cpuIndex: number;
  readonly threadId: number;
}

/** Pure: the vCPU threads from QMP `query-cpus-fast` (each entry's cpu-index and thread-id). */
export function parseVcpuThreads(reply: unknown): VcpuThread[] {
  if (!Array.isArray(reply)) throw new TypeError("query-cpus-fast did not return a list");
  return reply
    .map((entry: unknown) => {
      const record = entry as { "cpu-index"?: unknown; "thread-id"?: unknown };
      if (typeof record["cpu-index"] !== "number" || typeof record["thread-id"] !== "number")
        throw new TypeError("query-cpus-fast returned an entry without cpu-index and thread-id");
      return { cpuIndex: record["cpu-index"], threadId: record["thread-id"] };
    })
    .sort((a, b) => a.cpuIndex - b.cpuIndex);
}

export interface PinAssignment {
  readonly threadId: number;
  readonly cpus: readonly number[];
  /** The vCPU's index; undefined for QEMU's other threads. */
  readonly vcpu?: number | undefined;
}

/** Pure: which thread goes where. `threads` are all of QEMU's tasks (/proc/PID/task). */
export function pinningPlan(
  vcpus: readonly VcpuThread[],
  threads: readonly number[],
  pin: readonly number[],
  online: readonly number[],
): PinAssignment[] {
  if (pin.length < vcpus.length) throw new Error("fewer pinned CPUs than vCPUs");
  const vcpuTids = new Set(vcpus.map((v) => v.threadId));
  const rest = online.filter((cpu) => !pin.includes(cpu));
  const others = rest.length > 0 ? rest : [...online];
  return [
    ...vcpus.map((v, i) => ({ threadId: v.threadId, cpus: [pin[i] as number], vcpu: v.cpuIndex })),
    ...threads.filter((tid) => !vcpuTids.has(tid)).map((threadId) => ({ threadId, cpus: others })),
  ];
}

/** Pure: Cpus_allowed_list of a /proc/PID/task/TID/status text. */
export function parseCpusAllowed(status: string): number[] | undefined {
  const match = /^Cpus_allowed_list:\s*(\S*)\s*$/m.exec(status);
  if (match?.[1] === undefined) return undefined;
  const parsed = readCpuList(match[1]);
  return parsed.ok ? parsed.cpus : undefined;
}

/** Pure: the assignments whose thread's allowed CPUs are not what was set, as words. */
export function pinningMismatches(
  plan: readonly PinAssignment[],
  allowed: ReadonlyMap<number, readonly number[]>,
): string[] {
  const problems: string[] = [];
  for (const a of plan) {
    const now = allowed.get(a.threadId);
    if (now === undefined) continue;
    if (formatCpuList(now) !== formatCpuList(a.cpus))
      problems.push(
        `thread ${a.threadId}${a.vcpu === undefined ? "" : ` (vCPU ${a.vcpu})`} may run on ${formatCpuList(now)}, not ${formatCpuList(a.cpus)}`,
      );
  }
  return problems;
}

/** The pinning of one boot, as the manifest records it. */
export const pinningSchema = z.object({
  requested: z.string(),
  vcpus: z.array(z.object({ vcpu: z.int(), threadId: z.int(), cpu: z.int() })),
  others: z.object({ threadIds: z.array(z.int()), cpus: z.string() }),
  /** Every thread's Cpus_allowed_list read back from /proc and found as set. */
  verified: z.boolean(),
});
export type PinningRecord = z.infer<typeof pinningSchema>;

export function pinningRecord(
  pin: readonly number[],
  plan: readonly PinAssignment[],
): PinningRecord {
  const others = plan.filter((a) => a.vcpu === undefined);
  return {
    requested: formatCpuOrder(pin),
    vcpus: plan.flatMap((a) =>
      a.vcpu === undefined
        ? []
        : [{ vcpu: a.vcpu, threadId: a.threadId, cpu: a.cpus[0] as number }],
    ),
    others: {
      threadIds: others.map((a) => a.threadId),
      cpus: formatCpuList(others[0]?.cpus ?? []),
    },
    verified: true,
  };
}
