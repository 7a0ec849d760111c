import { BalloonBenchError } from "../../core/errors.js";

/** Root of every QMP failure. */
export class QmpError extends BalloonBenchError {}

/** The socket could not be reached, or the greeting/negotiation failed. */
export class QmpConnectError extends QmpError {}

/** The peer sent something that is not QMP: malformed JSON, an oversized line, a bad reply. */
export class QmpProtocolError extends QmpError {}

/** The connection closed (QEMU exited or was killed) while something was waiting on it. */
export class QmpDisconnectedError extends QmpError {}

/** A command got no reply, or an awaited event did not arrive, in time. */
export class QmpTimeoutError extends QmpError {
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number) {
    super(message, { hint: "QEMU may be hung; see its stderr and console log" });
    this.timeoutMs = timeoutMs;
  }
}

/** QEMU answered a command with {"error": {...}} (qemu.qmp's ExecuteError). */
export class QmpCommandError extends QmpError {
  readonly command: string;
  readonly args: Readonly<Record<string, unknown>> | undefined;
  readonly errorClass: string;
  readonly description: string;

  constructor(
    command: string,
    args: Readonly<Record<string, unknown>> | undefined,
    errorClass: string,
    description: string,
  ) {
    super(`QMP command '${command}' failed: ${errorClass}: ${description}`);
    this.command = command;
    this.args = args;
    this.errorClass = errorClass;
    this.description = description;
  }
}
