#!/usr/bin/env node
import { CommanderError } from "commander";
import { liveVmCount, stopAllVms } from "../qemu/vm-registry.js";
import {
  EXIT_FAILURE,
  EXIT_SIGINT,
  EXIT_SIGTERM,
  EXIT_USAGE,
  exitCodeFor,
  formatError,
  formatErrorDetails,
} from "./exit-codes.js";
import { buildProgram } from "./program.js";

let exiting = false;

/** Stops every QEMU we own, then exits; a second signal while stopping exits at once. */
async function exitAfterCleanup(code: number, message?: string): Promise<never> {
  if (exiting) process.exit(code);
  exiting = true;
  if (message !== undefined) process.stderr.write(`${message}\n`);
  if (liveVmCount() > 0) {
    process.stderr.write(`balloon-bench: stopping ${liveVmCount()} VM(s)...\n`);
    await stopAllVms();
  }
  process.exit(code);
}

function installHandlers(): void {
  process.on("SIGINT", () => void exitAfterCleanup(EXIT_SIGINT, "balloon-bench: interrupted (SIGINT)"));
  process.on("SIGTERM", () => void exitAfterCleanup(EXIT_SIGTERM, "balloon-bench: terminated (SIGTERM)"));
  process.on("SIGHUP", () => void exitAfterCleanup(129, "balloon-bench: hangup (SIGHUP)"));
  const crash = (error: unknown): void => {
    void exitAfterCleanup(EXIT_FAILURE, formatError(error));
  };
  process.on("uncaughtException", crash);
  process.on("unhandledRejection", crash);
}

async function main(argv: string[]): Promise<void> {
  installHandlers();
  let exitCode = 0;
  const program = buildProgram({
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    setExitCode: (code) => (exitCode = code),
  });
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version "errors" exit 0; unknown options and missing arguments are usage errors.
      const code = error.exitCode === 0 ? 0 : EXIT_USAGE;
      return exitAfterCleanup(code);
    }
    if (process.env["BALLOON_BENCH_DEBUG"] && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    const details = formatErrorDetails(error);
    return exitAfterCleanup(exitCodeFor(error), details === undefined ? formatError(error) : `${formatError(error)}\n${details}`);
  }
  await exitAfterCleanup(exitCode);
}

await main(process.argv);
