import { readdir, readFile } from "node:fs/promises";
import { execa } from "execa";
import { EnvironmentError } from "../../core/errors.js";
import { formatCpuList } from "../../core/host/cpu-list.js";
import { HOST_FILES, onlineCpus } from "../../core/host/host-state.js";
import {
  parseCpusAllowed,
  parseVcpuThreads,
  pinningMismatches,
  pinningPlan,
  pinningRecord,
  type PinningRecord,
  type VcpuThread,
} from "../../core/host/vcpu-pinning.js";
import { readHostFiles } from "./read-host-state.js";

/** The part of a QMP client pinning needs. */
export interface PinQmp {
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T>;
}

/** The host's online CPUs and, to tell "absent" from "offline", the possible ones. */
export async function readOnlineCpus(
  root = "/",
): Promise<{ online: number[]; possible: number[] | undefined }> {
  const files = await readHostFiles(root, [HOST_FILES.online, HOST_FILES.possible]);
  const online = onlineCpus(files);
  if (online === undefined)
    throw new EnvironmentError(`cannot read ${root.replace(/\/$/, "")}/${HOST_FILES.online}`, {
      hint: "pinning needs /sys mounted",
    });
  const possible = files.get(HOST_FILES.possible);
  return {
    online,
    possible:
      possible === undefined ? undefined : onlineCpus(new Map([[HOST_FILES.online, possible]])),
  };
}

/** QEMU's tasks (threads), from /proc/PID/task. */
export async function qemuThreadIds(pid: number): Promise<number[]> {
  return (await readdir(`/proc/${pid}/task`)).map(Number).filter(Number.isInteger);
}

/** The vCPU threads of a running QEMU (`query-cpus-fast`; one per vCPU under KVM and MTTCG). */
export async function queryVcpuThreads(qmp: PinQmp): Promise<VcpuThread[]> {
  return parseVcpuThreads(await qmp.execute("query-cpus-fast"));
}

async function allowedCpus(pid: number, tid: number): Promise<number[] | undefined> {
  const status = await readFile(`/proc/${pid}/task/${tid}/status`, "utf8").catch(() => undefined);
  return status === undefined ? undefined : parseCpusAllowed(status);
}

/**
 * Pins each vCPU thread of QEMU `pid` to its own CPU of `pin` and the other threads to the rest
 * (see core/host/vcpu-pinning.ts), with util-linux `taskset -p -c LIST TID`, then reads every
 * thread's Cpus_allowed_list back from /proc. A vCPU that could not be pinned, or a thread whose
 * set is not what was asked, is an EnvironmentError. A worker thread that exited meanwhile is not.
 */
export async function pinQemuThreads(
  vm: { readonly pid: number; readonly qmp: PinQmp },
  pin: readonly number[],
  options: { readonly taskset?: string } = {},
): Promise<PinningRecord> {
  const { online } = await readOnlineCpus();
  const vcpus = await queryVcpuThreads(vm.qmp);
  if (pin.length < vcpus.length)
    throw new EnvironmentError(
      `QEMU runs ${vcpus.length} vCPU threads but only ${pin.length} CPUs are pinned (${formatCpuList(pin)})`,
      { hint: "list one host CPU per vCPU" },
    );
  if (new Set(vcpus.map((v) => v.threadId)).size < vcpus.length)
    throw new EnvironmentError(
      "QEMU runs its vCPUs on one shared thread (single-threaded TCG): they cannot be pinned one by one",
      {
        hint: "use KVM, or multi-threaded TCG (-accel tcg,thread=multi, QEMU's default for x86_64 on x86_64)",
      },
    );
  const plan = pinningPlan(vcpus, await qemuThreadIds(vm.pid), pin, online);
  for (const assignment of plan) {
    const result = await execa(
      options.taskset ?? "taskset",
      ["-p", "-c", formatCpuList(assignment.cpus), String(assignment.threadId)],
      { reject: false, timeout: 10_000 },
    );
    if (result.exitCode === 0) continue;
    const gone = (await allowedCpus(vm.pid, assignment.threadId)) === undefined;
    if (gone && assignment.vcpu === undefined) continue;
    throw new EnvironmentError(
      `taskset could not pin QEMU thread ${assignment.threadId}${assignment.vcpu === undefined ? "" : ` (vCPU ${assignment.vcpu})`} to ${formatCpuList(assignment.cpus)}: ${String(result.stderr || result.message).trim()}`,
      { hint: "install util-linux (taskset); pinning another user's QEMU needs CAP_SYS_NICE" },
    );
  }
  const allowed = new Map<number, number[]>();
  for (const a of plan) {
    const cpus = await allowedCpus(vm.pid, a.threadId);
    if (cpus !== undefined) allowed.set(a.threadId, cpus);
  }
  const problems = pinningMismatches(plan, allowed);
  const missingVcpu = plan.find((a) => a.vcpu !== undefined && !allowed.has(a.threadId));
  if (missingVcpu !== undefined)
    problems.push(`vCPU ${missingVcpu.vcpu ?? "?"} thread ${missingVcpu.threadId} vanished`);
  if (problems.length > 0)
    throw new EnvironmentError(`vCPU pinning did not hold: ${problems.join("; ")}`, {
      hint: "something else (a cgroup cpuset, another tool) sets QEMU's affinity; check its cpuset",
    });
  return pinningRecord(
    pin,
    plan.filter((a) => allowed.has(a.threadId)),
  );
}
