import { liveVmCount, stopAllVms } from "../machine/qemu/vm-registry.js";
import { gracefulWorkRunning, requestShutdown } from "../util/shutdown.js";
import { EXIT_FAILURE, EXIT_SIGINT, EXIT_SIGTERM, formatError } from "./exit-codes.js";

let exiting = false;
let installed = false;
let interruptNote: string | undefined;
let signalExitCode: number | undefined;

/** How long an interrupted run may take to record where it was and stop its VMs. */
const UNWIND_TIMEOUT_MS = 30_000;

/** A line printed when a signal ends the process, e.g. how to resume the run. */
export function setInterruptNote(note: string | undefined): void {
  interruptNote = note;
}

/** The exit code of the signal that is ending the process, if one is. */
export function pendingSignalExit(): number | undefined {
  return signalExitCode;
}

/**
 * Stops every QEMU this process owns, then exits. A second call (a second Ctrl-C) while stopping
 * exits at once; the parent-death signal still takes the VMs down then.
 */
export async function exitAfterCleanup(code: number, message?: string): Promise<never> {
  if (exiting) process.exit(code);
  exiting = true;
  requestShutdown();
  if (message !== undefined) process.stderr.write(`${message}\n`);
  if (code >= 128 && interruptNote !== undefined) process.stderr.write(`${interruptNote}\n`);
  if (liveVmCount() > 0) {
    process.stderr.write(`balloon-bench: stopping ${liveVmCount()} VM(s)...\n`);
    await stopAllVms();
  }
  process.exit(code);
}

/**
 * A signal: work that unwinds by itself (a run) is told to stop and given time to record the
 * interruption and stop its VMs, after which main() exits with the signal's code; anything else,
 * or a second signal, stops the VMs and exits now.
 */
function onSignal(code: number, message: string): void {
  if (signalExitCode !== undefined || !gracefulWorkRunning()) {
    void exitAfterCleanup(code, signalExitCode === undefined ? message : undefined);
    return;
  }
  signalExitCode = code;
  process.stderr.write(`${message}; stopping after the current step (again to stop at once)\n`);
  requestShutdown();
  setTimeout(() => void exitAfterCleanup(code), UNWIND_TIMEOUT_MS).unref();
}

/** SIGINT, SIGTERM, SIGHUP and uncaught errors stop our VMs before the process ends. */
export function installExitHandlers(): void {
  if (installed) return;
  installed = true;
  process.on("SIGINT", () => onSignal(EXIT_SIGINT, "balloon-bench: interrupted (SIGINT)"));
  process.on("SIGTERM", () => onSignal(EXIT_SIGTERM, "balloon-bench: terminated (SIGTERM)"));
  process.on("SIGHUP", () => onSignal(129, "balloon-bench: hangup (SIGHUP)"));
  const crash = (error: unknown): void => void exitAfterCleanup(EXIT_FAILURE, formatError(error));
  process.on("uncaughtException", crash);
  process.on("unhandledRejection", crash);
}
