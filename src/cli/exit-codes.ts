import { constants } from "node:os";
import { BalloonBenchError, UsageError } from "../core/errors.js";
import { describeIoError, fixableIoError } from "../util/io-errors.js";

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** A gate could not decide: too few boots, or a CI that straddles its limit (see compare). */
export const EXIT_UNDECIDED = 3;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

/** The one line printed for an error: what went wrong, then how to fix it. */
export function formatError(error: unknown): string {
  if (error instanceof BalloonBenchError) {
    const message = error.message.replace(/\s*\n\s*/g, " ");
    return `balloon-bench: error: ${message}${error.hint === undefined ? "" : ` (fix: ${error.hint})`}`;
  }
  const io = fixableIoError(error);
  if (io !== undefined) {
    const { message, hint } = describeIoError(io);
    return `balloon-bench: error: ${message} (fix: ${hint}; results already written are kept)`;
  }
  const text = error instanceof Error ? error.message : String(error);
  return `balloon-bench: internal error: ${text.replace(/\s*\n\s*/g, " ")} (please report it; set BALLOON_BENCH_DEBUG=1 for a stack trace)`;
}

/** Detail lines some errors carry (console and stderr tails), printed after the one-line error. */
export function formatErrorDetails(error: unknown): string | undefined {
  const parts: string[] = [];
  const record = error as { stderrTail?: unknown; consoleTail?: unknown; logTail?: unknown };
  if (typeof record.stderrTail === "string" && record.stderrTail !== "") {
    parts.push("--- QEMU stderr (last lines) ---", record.stderrTail);
  }
  if (typeof record.logTail === "string" && record.logTail !== "") {
    parts.push("--- build log (last lines) ---", record.logTail);
  }
  if (typeof record.consoleTail === "string" && record.consoleTail !== "") {
    parts.push("--- guest console (last lines) ---", record.consoleTail);
  }
  return parts.length === 0 ? undefined : parts.join("\n");
}

export function exitCodeFor(error: unknown): number {
  return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

/** The shell's convention for a command's status: its exit code, or 128 + the signal number. */
export function exitCodeOf(exit: { exitCode: number | null; signal: string | undefined }): number {
  if (exit.exitCode !== null) return exit.exitCode;
  const number =
    exit.signal === undefined
      ? undefined
      : (constants.signals as Record<string, number | undefined>)[`SIG${exit.signal}`];
  return number === undefined ? 1 : 128 + number;
}
