/**
 * The error tree. Every error carries what a user needs to act on it; only the CLI entry
 * (src/cli/main.ts) turns errors into output and exit codes.
 */
export class BalloonBenchError extends Error {
  /** One sentence telling the user how to fix it, printed after the message. */
  readonly hint: string | undefined;

  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** Bad input from the user (flags, files, plan entries). Exit code 2. */
export class UsageError extends BalloonBenchError {}

/** A required tool or host capability is missing. */
export class EnvironmentError extends BalloonBenchError {}

/** QEMU failed to start, or exited before it was ready. */
export class VmLaunchError extends BalloonBenchError {
  readonly command: readonly string[];
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderrTail: string;
  readonly consoleTail: string;

  constructor(
    message: string,
    details: {
      command: readonly string[];
      exitCode?: number | undefined;
      signal?: string | undefined;
      stderrTail?: string;
      consoleTail?: string;
      hint?: string;
      cause?: unknown;
    },
  ) {
    super(message, details);
    this.command = details.command;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stderrTail = details.stderrTail ?? "";
    this.consoleTail = details.consoleTail ?? "";
  }
}

/** The graceful shutdown path failed and QEMU had to be killed. */
export class AbnormalShutdownError extends BalloonBenchError {}

/** A wait (for an event, a port, a file) ran out of time. */
export class TimeoutError extends BalloonBenchError {
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number, options?: { hint?: string; cause?: unknown }) {
    super(message, options);
    this.timeoutMs = timeoutMs;
  }
}

/** The run was interrupted (SIGINT, SIGTERM): not a failure of what it was doing. */
export class InterruptedError extends BalloonBenchError {}
