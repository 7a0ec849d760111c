import { BalloonBenchError } from "../../core/errors.js";

/** A command in the guest exited non-zero (or by a signal). */
export class GuestCommandError extends BalloonBenchError {
  readonly command: readonly string[];
  readonly exitCode: number | null;
  readonly signal: string | undefined;
  readonly stderr: string;

  constructor(
    command: readonly string[],
    exitCode: number | null,
    signal: string | undefined,
    stderr: string,
  ) {
    const how =
      signal !== undefined ? `was killed by ${signal}` : `exited with ${String(exitCode)}`;
    const firstLine = stderr.trim().split("\n").at(-1) ?? "";
    super(`guest command '${command.join(" ")}' ${how}${firstLine === "" ? "" : `: ${firstLine}`}`);
    this.command = command;
    this.exitCode = exitCode;
    this.signal = signal;
    this.stderr = stderr;
  }
}

/** The guest's SSH host key is not the one pinned for the image: never connect. */
export class HostKeyMismatchError extends BalloonBenchError {}

/** SSH did not come up, or the connection was lost. */
export class GuestConnectionError extends BalloonBenchError {}
