import { liveVmCount, stopAllVms } from "../machine/qemu/vm-registry.js";
import { requestShutdown } from "../util/shutdown.js";
import { EXIT_FAILURE, EXIT_SIGINT, EXIT_SIGTERM, formatError } from "./exit-codes.js";

let exiting = false;
let installed = false;
let interruptNote: string | undefined;

/** A line printed when a signal ends the process, e.g. how to resume the run. */
export function setInterruptNote(note: string | undefined): void {
  interruptNote = note;
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

/** SIGINT, SIGTERM, SIGHUP and uncaught errors stop our VMs before the process ends. */
export function installExitHandlers(): void {
  if (installed) return;
  installed = true;
  process.on(
    "SIGINT",
    () => void exitAfterCleanup(EXIT_SIGINT, "balloon-bench: interrupted (SIGINT)"),
  );
  process.on(
    "SIGTERM",
    () => void exitAfterCleanup(EXIT_SIGTERM, "balloon-bench: terminated (SIGTERM)"),
  );
  process.on("SIGHUP", () => void exitAfterCleanup(129, "balloon-bench: hangup (SIGHUP)"));
  const crash = (error: unknown): void => void exitAfterCleanup(EXIT_FAILURE, formatError(error));
  process.on("uncaughtException", crash);
  process.on("unhandledRejection", crash);
}
