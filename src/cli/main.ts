#!/usr/bin/env node
import { CommanderError } from "commander";
import { EXIT_USAGE, exitCodeFor, formatError, formatErrorDetails } from "./exit-codes.js";
import { exitAfterCleanup, installExitHandlers, pendingSignalExit } from "./process-guard.js";
import { buildProgram } from "./program.js";
import { shutdownRequested } from "../util/shutdown.js";

/** The only place errors become output and exit codes. */
async function main(argv: string[]): Promise<void> {
  installExitHandlers();
  let exitCode = 0;
  const program = buildProgram({
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    setExitCode: (code) => (exitCode = code),
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    // A signal ended the work: exit with its code; errors it caused (a dropped SSH session, a
    // killed QEMU) are not the user's problem.
    const signalled = pendingSignalExit();
    if (signalled !== undefined) return exitAfterCleanup(signalled);
    if (shutdownRequested()) return new Promise<never>(() => undefined);
    if (error instanceof CommanderError) {
      // Help and version "errors" exit 0; unknown options and missing arguments are usage errors.
      return exitAfterCleanup(error.exitCode === 0 ? 0 : EXIT_USAGE);
    }
    if (process.env["BALLOON_BENCH_DEBUG"] !== undefined && error instanceof Error) {
      process.stderr.write(`${error.stack}\n`);
    }
    const details = formatErrorDetails(error);
    const text = details === undefined ? formatError(error) : `${formatError(error)}\n${details}`;
    return exitAfterCleanup(exitCodeFor(error), text);
  }
  await exitAfterCleanup(pendingSignalExit() ?? exitCode);
}

await main(process.argv);
