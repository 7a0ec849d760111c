import { readFile } from "node:fs/promises";
import { USER_HZ, parseTaskStatTicks } from "../../core/host/interference.js";

/**
 * What a running QEMU process is doing, in words, from /proc/PID/stat's state field; undefined
 * while it runs or sleeps normally (R, S, D are all normal for QEMU).
 */
export async function describeProcessTrouble(pid: number): Promise<string | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (text === undefined) return "is gone";
  const state = text.slice(text.lastIndexOf(")") + 2, text.lastIndexOf(")") + 3);
  if (state === "T") return "is stopped (SIGSTOP, or a debugger holds it)";
  if (state === "t") return "is stopped by a tracer";
  if (state === "Z" || state === "X") return "has exited";
  return undefined;
}

/** CPU seconds (user + system, all threads) a process has used; undefined once it is gone. */
export async function processCpuSeconds(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  const ticks = text === undefined ? undefined : parseTaskStatTicks(text);
  return ticks === undefined ? undefined : ticks / USER_HZ;
}

/**
 * Why a guest printed nothing on its console while waiting for SSH: a QEMU that got almost no
 * CPU (an overloaded host) is told apart from a guest that ran and whose init printed nothing.
 */
export async function describeSilentGuest(pid: number, waitedMs: number): Promise<string> {
  const trouble = await describeProcessTrouble(pid);
  if (trouble !== undefined) return `the console is empty and QEMU ${trouble}`;
  const cpuS = await processCpuSeconds(pid);
  if (cpuS === undefined) return "the console is empty";
  const waitedS = waitedMs / 1000;
  const share = `QEMU used ${cpuS.toFixed(1)} s of CPU in ${waitedS.toFixed(0)} s`;
  return cpuS < waitedS * 0.1
    ? `the console is empty and ${share}: the host gave it almost no CPU (overloaded)`
    : `the console is empty although ${share}: the guest ran, but its init printed nothing (it hung, or is not the image's init)`;
}
