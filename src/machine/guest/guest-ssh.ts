import { createHash } from "node:crypto";
import { Client, type ClientChannel, type SFTPWrapper } from "ssh2";
import pRetry, { AbortError } from "p-retry";
import { GuestCommandError, GuestConnectionError, HostKeyMismatchError } from "./guest-errors.js";
import { fingerprint, type PinnedHostKey } from "../../core/protocol/host-key.js";
import { shellCommand } from "../../core/protocol/shell-quote.js";

export interface GuestSshOptions {
  readonly port: number;
  readonly privateKey: Buffer | string;
  readonly hostKey: PinnedHostKey;
  readonly username?: string;
  /** Per-attempt handshake timeout; a guest still booting shows up as a timeout or early close. */
  readonly attemptTimeoutMs?: number;
}

export interface ExecOptions {
  readonly timeoutMs?: number;
  readonly stdin?: string | Buffer;
}

export interface StreamOptions {
  readonly stdout: (chunk: Buffer) => void;
  readonly stderr: (chunk: Buffer) => void;
  /** Fed to the command's stdin, then closed; without it stdin is closed at once. */
  readonly stdin?: NodeJS.ReadableStream;
}

export interface CommandExit {
  readonly exitCode: number | null;
  readonly signal: string | undefined;
}

export interface PtyWindow {
  readonly term: string;
  readonly rows: number;
  readonly cols: number;
}

/** A session channel ssh2 just opened, with its exit watched from that moment on. */
export interface StartedChannel {
  readonly channel: ClientChannel;
  /** Settles on 'close': the exit status, or GuestConnectionError when none came. */
  readonly exited: Promise<CommandExit>;
}

export interface ExecResult {
  readonly exitCode: number | null;
  readonly signal: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

const DEFAULT_EXEC_TIMEOUT_MS = 10 * 60_000;

/** A command as an error names it: its first line, shortened (our scripts span many lines). */
export function commandLabel(script: string): string {
  const lines = script.trim().split("\n");
  const first = (lines[0] ?? "").slice(0, 80);
  return lines.length > 1 || first.length < (lines[0] ?? "").length ? `${first} ...` : first;
}

/**
 * One SSH connection to a guest, host key pinned. Commands are argv arrays, quoted for the
 * remote shell by shellCommand; nothing is ever concatenated from user input.
 */
export class GuestSsh implements AsyncDisposable {
  private closed = false;

  private constructor(
    private readonly client: Client,
    readonly port: number,
  ) {
    // An 'error' after ready (ECONNRESET when QEMU dies) must not crash the process.
    client.on("error", () => undefined);
    client.on("close", () => (this.closed = true));
  }

  /** One connection attempt; rejects on host key mismatch with HostKeyMismatchError. */
  static connectOnce(options: GuestSshOptions): Promise<GuestSsh> {
    return new Promise((resolve, reject) => {
      const client = new Client();
      let mismatch: string | undefined;
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        client.destroy();
        reject(error);
      };
      client.once("ready", () => {
        settled = true;
        resolve(new GuestSsh(client, options.port));
      });
      client.on("error", (error) => {
        fail(
          mismatch !== undefined
            ? new HostKeyMismatchError(mismatch, {
                hint: "the guest is not the image this key was pinned for; rebuild with `balloon-bench image build --force`",
              })
            : new GuestConnectionError(
                `SSH to 127.0.0.1:${options.port} failed: ${error.message}`,
                { cause: error },
              ),
        );
      });
      // QEMU's user networking accepts TCP before the guest listens: an early close is "not yet".
      client.once("close", () =>
        fail(new GuestConnectionError(`SSH to 127.0.0.1:${options.port} closed before login`)),
      );
      client.connect({
        host: "127.0.0.1",
        port: options.port,
        username: options.username ?? "root",
        privateKey: options.privateKey,
        readyTimeout: options.attemptTimeoutMs ?? 5_000,
        hostVerifier: (key: Buffer): boolean => {
          if (key.equals(options.hostKey.blob)) return true;
          mismatch = `guest SSH host key ${fingerprint(key)} does not match the pinned key ${fingerprint(options.hostKey.blob)}`;
          return false;
        },
      });
    });
  }

  /**
   * Connects, retrying (p-retry) until the guest answers or `deadlineMs` passes. `shouldGiveUp`
   * is checked between attempts (e.g. QEMU exited) and ends the wait with its error.
   */
  static async connect(
    options: GuestSshOptions & { timeoutMs: number; shouldGiveUp?: () => Error | undefined },
  ): Promise<GuestSsh> {
    const deadline = Date.now() + options.timeoutMs;
    return pRetry(
      async () => {
        const reason = options.shouldGiveUp?.();
        if (reason !== undefined) throw new AbortError(reason);
        try {
          return await GuestSsh.connectOnce(options);
        } catch (error) {
          if (error instanceof HostKeyMismatchError) throw new AbortError(error);
          throw error;
        }
      },
      {
        retries: Number.MAX_SAFE_INTEGER,
        minTimeout: 200,
        maxTimeout: 500,
        factor: 1.2,
        maxRetryTime: options.timeoutMs,
        shouldRetry: () => Date.now() < deadline,
      },
    ).catch((error: unknown) => {
      if (error instanceof HostKeyMismatchError || error instanceof GuestConnectionError)
        throw error;
      if (error instanceof Error && !(error instanceof AbortError)) {
        throw new GuestConnectionError(
          `guest did not answer SSH within ${options.timeoutMs} ms: ${error.message}`,
          { cause: error },
        );
      }
      throw error;
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Runs argv in the guest (quoted for sh -c) and collects its output and exit status. */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.execShell(shellCommand(argv), options);
  }

  /** Like exec, but a non-zero exit is a GuestCommandError. */
  async run(argv: readonly string[], options: ExecOptions = {}): Promise<string> {
    const result = await this.exec(argv, options);
    if (result.exitCode !== 0)
      throw new GuestCommandError(argv, result.exitCode, result.signal, result.stderr);
    return result.stdout;
  }

  /** Runs a fixed script of ours (never user text) through the guest's sh. */
  async execShell(script: string, options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    const { channel, exited } = await this.startExec(script);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    channel.on("data", (chunk: Buffer) => stdout.push(chunk));
    channel.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    // Closing the channel on timeout also settles `exited`; that loser must not go unhandled.
    exited.catch(() => undefined);
    if (options.stdin !== undefined) channel.end(options.stdin);
    else channel.end();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        channel.close();
        reject(
          new GuestConnectionError(
            `guest command did not finish within ${timeoutMs} ms: ${commandLabel(script)}`,
          ),
        );
      }, timeoutMs);
    });
    try {
      // 'close' (which settles `exited`) comes after both streams end, so all output is in.
      const exit = await Promise.race([exited, timedOut]);
      return {
        ...exit,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs argv (quoted for sh -c) with its output streamed as it comes; resolves with its exit. */
  async execStreaming(argv: readonly string[], options: StreamOptions): Promise<CommandExit> {
    const script = shellCommand(argv);
    const { channel, exited } = await this.startExec(script);
    channel.on("data", options.stdout);
    channel.stderr.on("data", options.stderr);
    if (options.stdin === undefined) channel.end();
    else options.stdin.pipe(channel);
    return exited;
  }

  private startExec(script: string): Promise<StartedChannel> {
    return new Promise((resolve, reject) =>
      this.client.exec(script, (error, channel: ClientChannel) => {
        if (error) {
          reject(
            new GuestConnectionError(`could not start a guest command: ${error.message}`, {
              cause: error,
            }),
          );
        } else resolve(this.watchExit(channel, script));
      }),
    );
  }

  /** An interactive login shell on a pseudo-terminal in the guest (the caller wires the I/O). */
  openShell(window: PtyWindow): Promise<StartedChannel> {
    return new Promise((resolve, reject) =>
      this.client.shell(
        { term: window.term, rows: window.rows, cols: window.cols },
        (error, channel: ClientChannel) =>
          error
            ? reject(
                new GuestConnectionError(`could not open a guest shell: ${error.message}`, {
                  cause: error,
                }),
              )
            : resolve(this.watchExit(channel, "interactive shell")),
      ),
    );
  }

  /**
   * Listens for the channel's exit status at once, inside ssh2's callback. ssh2 parses a whole
   * TCP read synchronously: when a quick command's CHANNEL_SUCCESS, exit-status, EOF and CLOSE
   * come in one read (a CPU-starved host reads late), 'exit' is emitted before any code awaiting
   * the channel runs, and a listener added there never hears it.
   */
  private watchExit(channel: ClientChannel, what: string): StartedChannel {
    const exited = new Promise<CommandExit>((resolve, reject) =>
      this.settleOnClose(channel, what, resolve, reject),
    );
    return { channel, exited };
  }

  private settleOnClose(
    channel: ClientChannel,
    what: string,
    resolve: (exit: CommandExit) => void,
    reject: (error: Error) => void,
  ): void {
    let exit: CommandExit | undefined;
    channel.on("exit", (code: number | null, signalName?: string) => {
      exit = { exitCode: code, signal: signalName ?? undefined };
    });
    channel.on("close", () => {
      if (exit === undefined) {
        reject(
          new GuestConnectionError(`SSH connection lost while running: ${commandLabel(what)}`),
        );
      } else resolve(exit);
    });
  }

  /** Writes a file in the guest and checks its sha256 there (ssh2's fastPut has corruption reports). */
  async writeFile(remotePath: string, data: Buffer, mode = 0o644): Promise<void> {
    const sftp = await this.sftp();
    try {
      await new Promise<void>((resolve, reject) =>
        sftp.writeFile(remotePath, data, { mode }, (error) => (error ? reject(error) : resolve())),
      );
    } finally {
      sftp.end();
    }
    const expected = createHash("sha256").update(data).digest("hex");
    const actual = (await this.run(["sha256sum", remotePath])).split(/\s+/)[0];
    if (actual !== expected) {
      throw new GuestConnectionError(
        `upload of ${remotePath} corrupted: sha256 ${String(actual)} != ${expected}`,
      );
    }
  }

  async readFile(remotePath: string): Promise<Buffer> {
    const sftp = await this.sftp();
    try {
      return await new Promise<Buffer>((resolve, reject) =>
        sftp.readFile(remotePath, (error: Error | undefined, data: Buffer) =>
          error ? reject(error) : resolve(data),
        ),
      );
    } finally {
      sftp.end();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.end();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await Promise.resolve();
  }

  private sftp(): Promise<SFTPWrapper> {
    return new Promise((resolve, reject) =>
      this.client.sftp((error, sftp) =>
        error ? reject(new GuestConnectionError(`SFTP failed: ${error.message}`)) : resolve(sftp),
      ),
    );
  }
}
