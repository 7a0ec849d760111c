import { readFile } from "node:fs/promises";

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
