import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { removeDir } from "../util/private-dir.js";
import { isVmAlive } from "./live-vm.js";
import { liveVmsDir } from "./live-paths.js";
import { isSameProcess } from "../util/process-identity.js";
import { listVmNames, readVmState, readVmStateFile, type LiveVmState } from "./vm-state.js";

export interface VmListing {
  readonly live: readonly LiveVmState[];
  /** Names whose QEMU had exited; their state was removed. */
  readonly removedStale: readonly string[];
  /** VMs whose state does not validate while their QEMU runs: kept, and said so. */
  readonly damaged: readonly { name: string; problem: string; pid: number }[];
}

/** Live VMs; entries whose QEMU is gone are removed (and named in the result). */
export async function listLiveVms(): Promise<VmListing> {
  const root = liveVmsDir();
  const live: LiveVmState[] = [];
  const removedStale: string[] = [];
  const damaged: { name: string; problem: string; pid: number }[] = [];
  for (const name of await listVmNames(root)) {
    const dir = join(root, name);
    const read = await readVmStateFile(dir);
    if (read.kind === "ok" && (await isVmAlive(read.state))) {
      live.push(read.state);
      continue;
    }
    if (
      read.kind === "damaged" &&
      read.process !== undefined &&
      (await isSameProcess(read.process))
    ) {
      damaged.push({ name, problem: read.problem, pid: read.process.pid });
      continue;
    }
    await removeDir(dir);
    removedStale.push(name);
  }
  // Leftovers of an `up` that died between preparing and claiming its name.
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory() || !/^\..+\.tmp-/.test(entry.name)) continue;
    const dir = join(root, entry.name);
    const state = await readVmState(dir);
    if (state === undefined || !(await isVmAlive(state))) await removeDir(dir);
  }
  return { live, removedStale, damaged };
}

function formatUptime(createdAt: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(createdAt)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

/** The `ls` table. */
export function renderVmList(vms: readonly LiveVmState[]): string {
  const rows = [
    ["NAME", "PHASE", "PID", "SSH", "ACCEL", "MEMORY", "BITS", "KERNEL", "UP"],
    ...vms.map((vm) => [
      vm.name,
      vm.phase,
      String(vm.qemu?.pid ?? "-"),
      vm.sshPort === undefined ? "-" : `127.0.0.1:${vm.sshPort}`,
      vm.accelerator,
      `${vm.memoryMiB}M`,
      vm.requestedBits.join(",") || "none",
      `${vm.kernel.name} (${vm.kernel.release})`,
      formatUptime(vm.createdAt),
    ]),
  ];
  const widths =
    rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length))) ?? [];
  return rows
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  "),
    )
    .join("\n");
}
