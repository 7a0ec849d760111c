import { readFile } from "node:fs/promises";

/**
 * A process as the kernel knows it: pid plus start time (/proc/PID/stat field 22, clock ticks
 * after boot). Pids are reused; the pair is not, so a recorded QEMU is never confused with a
 * later process that happens to get its pid.
 */
export interface ProcessIdentity {
  readonly pid: number;
  readonly startTime: number;
}

/** Parses /proc/PID/stat: state (field 3) and start time (field 22). comm may hold spaces and ')'. */
export function parseProcStat(text: string): { state: string; startTime: number } | undefined {
  const close = text.lastIndexOf(")");
  if (close === -1) return undefined;
  // After "pid (comm) " the fields start at field 3.
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const state = fields[0];
  const startTime = Number(fields[22 - 3]);
  if (state === undefined || !Number.isSafeInteger(startTime)) return undefined;
  return { state, startTime };
}

/** The start time of a running process; undefined when it is gone or a zombie (exited, unreaped). */
export async function readProcessStartTime(pid: number): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const parsed = parseProcStat(text);
  if (parsed === undefined || parsed.state === "Z" || parsed.state === "X") return undefined;
  return parsed.startTime;
}

/** Whether the process recorded as `identity` still runs (same pid, same start time). */
export async function isSameProcess(identity: ProcessIdentity): Promise<boolean> {
  return (await readProcessStartTime(identity.pid)) === identity.startTime;
}

/** This process's own identity. */
export async function selfIdentity(): Promise<ProcessIdentity> {
  const startTime = await readProcessStartTime(process.pid);
  if (startTime === undefined) throw new Error("cannot read /proc/self/stat");
  return { pid: process.pid, startTime };
}
