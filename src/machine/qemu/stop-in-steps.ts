import { AbnormalShutdownError } from "../../core/errors.js";

export interface VmExit {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
}

export type StopMethod = "already-exited" | "quit" | "sigterm" | "sigkill";

export interface StopResult extends VmExit {
  readonly method: StopMethod;
}

export interface StopOptions {
  readonly quitTimeoutMs?: number;
  readonly termTimeoutMs?: number;
  readonly killTimeoutMs?: number;
}

/**
 * What stopping a QEMU needs, whoever started it: our child (RunningVm, which knows its exit
 * status) or a live VM another balloon-bench process left running (known by pid + start time).
 */
export interface StopTarget {
  readonly pid: number;
  /** Whether QEMU has already gone (checked first: nothing is signalled then). */
  hasExited(): boolean;
  /** Sends QMP `quit` without waiting for the reply; false when there is no QMP connection. */
  sendQuit(timeoutMs: number): boolean;
  /** Sends a signal; must not signal a process that is no longer this QEMU. */
  signal(signal: NodeJS.Signals): void | Promise<void>;
  /** Resolves with the exit when QEMU exits within `timeoutMs`, else with undefined. */
  waitForExit(timeoutMs: number): Promise<VmExit | undefined>;
  /** The exit to report for a QEMU that was already gone. */
  exitInfo(): VmExit;
}

/** Stops QEMU in steps: QMP quit, then SIGTERM, then SIGKILL, each with its own wait. */
export async function stopInSteps(
  target: StopTarget,
  options: StopOptions = {},
): Promise<StopResult> {
  if (target.hasExited()) return { ...target.exitInfo(), method: "already-exited" };
  const quitTimeoutMs = options.quitTimeoutMs ?? 10_000;
  // QEMU may exit before it answers 'quit' (the SHUTDOWN event comes first): either is fine.
  if (target.sendQuit(quitTimeoutMs)) {
    const exit = await target.waitForExit(quitTimeoutMs);
    if (exit !== undefined) return { ...exit, method: "quit" };
  }
  await target.signal("SIGTERM");
  const afterTerm = await target.waitForExit(options.termTimeoutMs ?? 5_000);
  if (afterTerm !== undefined) return { ...afterTerm, method: "sigterm" };
  await target.signal("SIGKILL");
  const afterKill = await target.waitForExit(options.killTimeoutMs ?? 10_000);
  if (afterKill !== undefined) return { ...afterKill, method: "sigkill" };
  throw new AbnormalShutdownError(`QEMU (pid ${target.pid}) survived SIGKILL`, {
    hint: "it may be stuck in the kernel (D state); check `ps -o stat -p PID`",
  });
}

/** Sends a signal, ignoring a process that has already gone (ESRCH). */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}
