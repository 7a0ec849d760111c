import { createConnection, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import {
  QmpCommandError,
  QmpConnectError,
  QmpDisconnectedError,
  QmpError,
  QmpProtocolError,
  QmpTimeoutError,
} from "./qmp-errors.js";
import {
  parseGreeting,
  parseServerMessage,
  type QmpEvent,
  type QmpGreeting,
} from "./qmp-messages.js";
import { LineSplitter } from "./line-splitter.js";

export interface QmpConnectOptions {
  /** How long to keep trying to reach the socket and finish negotiation. */
  timeoutMs?: number;
  /** Lines longer than this are a protocol error (qemu.qmp uses 10 MiB too). */
  maxLineBytes?: number;
  /** Aborts connection attempts early, e.g. when the QEMU process has exited. */
  signal?: AbortSignal;
  /** Default reply timeout for execute(). */
  commandTimeoutMs?: number;
}

export interface ExecuteOptions {
  timeoutMs?: number;
}

export interface WaitForEventOptions {
  timeoutMs?: number;
  /**
   * Events received after this cursor count. Defaults to the cursor taken when the most
   * recent command was sent, so `await execute("stop"); await waitForEvent("STOP")` cannot
   * miss a STOP that arrived before (or with) the reply.
   */
  since?: EventCursor;
}

/** A position in the stream of received events (see QmpClient.cursor). */
export type EventCursor = number & { readonly __eventCursor: unique symbol };

interface PendingCommand {
  readonly command: string;
  readonly args: Record<string, unknown> | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface EventWaiter {
  readonly name: string;
  readonly predicate: (event: QmpEvent) => boolean;
  readonly resolve: (event: QmpEvent) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

type State = "running" | "closed";

const DEFAULT_MAX_LINE_BYTES = 10 * 1024 * 1024;
const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
const DEFAULT_EVENT_TIMEOUT_MS = 60_000;
const EVENT_HISTORY_LIMIT = 4096;
const CONNECT_RETRY_MS = 20;

/**
 * A QMP client over a unix socket, modelled on QEMU's python qemu.qmp: greeting validation,
 * capability negotiation, id-routed replies (several commands in flight), events with a
 * history so waits cannot miss them, and prompt failure of everything pending on disconnect.
 */
export class QmpClient implements AsyncDisposable {
  readonly greeting: QmpGreeting;
  private state: State = "running";
  private nextId = 1;
  private readonly pending = new Map<string, PendingCommand>();
  /** Ids of commands that timed out: QEMU may still answer them; those replies are dropped. */
  private readonly abandonedIds = new Set<string>();
  private readonly waiters = new Set<EventWaiter>();
  private readonly listeners = new Set<(event: QmpEvent) => void>();
  private readonly history: { seq: number; event: QmpEvent }[] = [];
  private eventSeq = 0;
  private lastCommandCursor = 0;
  private closeReason: Error | undefined;
  private readonly closedPromise: Promise<void>;
  private markClosed!: () => void;

  private constructor(
    private readonly socket: Socket,
    private readonly splitter: LineSplitter,
    greeting: QmpGreeting,
    private readonly socketPath: string,
    private readonly commandTimeoutMs: number,
  ) {
    this.greeting = greeting;
    this.closedPromise = new Promise((resolve) => (this.markClosed = resolve));
  }

  /** Connects to QEMU's QMP socket, retrying until it exists, and negotiates capabilities. */
  static async connect(socketPath: string, options: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const socket = await connectWithRetry(socketPath, deadline, timeoutMs, options.signal);
    const splitter = new LineSplitter(options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    try {
      const greetingLine = await readFirstLine(socket, splitter, deadline - Date.now(), socketPath);
      const greeting = parseGreeting(greetingLine.line);
      const client = new QmpClient(
        socket,
        splitter,
        greeting,
        socketPath,
        options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      );
      client.attach(greetingLine.rest);
      try {
        await client.execute("qmp_capabilities", undefined, {
          timeoutMs: Math.max(1, deadline - Date.now()),
        });
      } catch (error) {
        client.close();
        throw new QmpConnectError(`QMP capabilities negotiation on ${socketPath} failed`, {
          cause: error,
        });
      }
      return client;
    } catch (error) {
      socket.destroy();
      if (error instanceof QmpError) throw error;
      throw new QmpConnectError(`could not read the QMP greeting on ${socketPath}`, {
        cause: error,
      });
    }
  }

  get isOpen(): boolean {
    return this.state === "running";
  }

  /** Resolves once the connection has closed, for whatever reason. */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  /** The current position in the event stream; pass it as `since` to waitForEvent. */
  cursor(): EventCursor {
    return this.eventSeq as EventCursor;
  }

  /** Sends one command and resolves with its `return` value. */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    options: ExecuteOptions = {},
  ): Promise<T> {
    if (this.state !== "running") {
      return Promise.reject(this.disconnectedError(command));
    }
    const id = `bb-${this.nextId++}`;
    const timeoutMs = options.timeoutMs ?? this.commandTimeoutMs;
    this.lastCommandCursor = this.eventSeq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.abandonedIds.add(id);
        reject(
          new QmpTimeoutError(
            `QMP command '${command}' got no reply in ${timeoutMs} ms`,
            timeoutMs,
          ),
        );
      }, timeoutMs);
      this.pending.set(id, {
        command,
        args,
        resolve: (value) => resolve(value as T),
        reject,
        timer,
      });
      const message =
        args === undefined ? { execute: command, id } : { execute: command, arguments: args, id };
      this.socket.write(`${JSON.stringify(message)}\n`);
    });
  }

  /** Calls `listener` for every event from now on; returns the unsubscribe function. */
  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Waits for an event named `name` that satisfies `predicate`, looking back to `since` first. */
  waitForEvent(
    name: string,
    predicate: (event: QmpEvent) => boolean = () => true,
    options: WaitForEventOptions = {},
  ): Promise<QmpEvent> {
    const since = options.since ?? this.lastCommandCursor;
    const seen = this.history.find(
      (h) => h.seq > since && h.event.event === name && predicate(h.event),
    );
    if (seen !== undefined) return Promise.resolve(seen.event);
    if (this.state !== "running") return Promise.reject(this.disconnectedError(`event ${name}`));
    const timeoutMs = options.timeoutMs ?? DEFAULT_EVENT_TIMEOUT_MS;
    return new Promise<QmpEvent>((resolve, reject) => {
      const waiter: EventWaiter = {
        name,
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(
            new QmpTimeoutError(
              `QMP event ${name} did not arrive within ${timeoutMs} ms`,
              timeoutMs,
            ),
          );
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Closes the connection; pending commands and waits fail. Safe to call more than once. */
  close(): void {
    this.shutdown(
      new QmpDisconnectedError(`QMP connection to ${this.socketPath} was closed by us`),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.closedPromise;
  }

  private attach(initial: string[]): void {
    this.socket.on("data", (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = this.splitter.push(chunk);
      } catch (error) {
        this.fail(new QmpProtocolError(`QMP peer sent a ${(error as Error).message}`));
        return;
      }
      this.handleLines(lines);
    });
    this.socket.on("error", (error) => {
      this.shutdown(
        new QmpDisconnectedError(`QMP connection to ${this.socketPath} failed: ${error.message}`, {
          cause: error,
        }),
      );
    });
    this.socket.on("close", () => {
      this.shutdown(
        new QmpDisconnectedError(`QMP connection to ${this.socketPath} closed (QEMU exited?)`, {
          hint: "see QEMU's stderr and console log",
        }),
      );
      this.markClosed();
    });
    this.handleLines(initial);
    // readFirstLine paused the socket so nothing arrived between the greeting and here.
    this.socket.resume();
  }

  private handleLines(lines: string[]): void {
    for (const line of lines) {
      if (this.state !== "running") return;
      if (line.trim() === "") continue;
      try {
        this.dispatch(line);
      } catch (error) {
        this.fail(error instanceof QmpError ? error : new QmpProtocolError(String(error)));
        return;
      }
    }
  }

  private dispatch(line: string): void {
    const message = parseServerMessage(line);
    if (message.kind === "event") {
      this.recordEvent(message.event);
      return;
    }
    const id = typeof message.id === "string" ? message.id : undefined;
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (pending === undefined) {
      if (id !== undefined && this.abandonedIds.delete(id)) return;
      throw new QmpProtocolError(
        `QMP reply for unknown command id ${JSON.stringify(message.id)}: ${line.slice(0, 200)}`,
      );
    }
    this.pending.delete(id as string);
    clearTimeout(pending.timer);
    if (message.kind === "return") {
      pending.resolve(message.value);
    } else {
      pending.reject(
        new QmpCommandError(pending.command, pending.args, message.errorClass, message.description),
      );
    }
  }

  private recordEvent(event: QmpEvent): void {
    this.eventSeq += 1;
    this.history.push({ seq: this.eventSeq, event });
    if (this.history.length > EVENT_HISTORY_LIMIT) this.history.shift();
    for (const waiter of [...this.waiters]) {
      if (waiter.name === event.event && waiter.predicate(event)) {
        this.waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(event);
      }
    }
    for (const listener of this.listeners) listener(event);
  }

  private fail(error: QmpError): void {
    this.shutdown(error);
  }

  private shutdown(reason: Error): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.closeReason = reason;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(id);
      // QEMU closes the socket as it exits after 'quit': that is the command succeeding.
      if (pending.command === "quit" && reason instanceof QmpDisconnectedError) {
        pending.resolve({});
      } else {
        pending.reject(this.disconnectedError(pending.command));
      }
    }
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(this.disconnectedError(`event ${waiter.name}`));
    }
    this.waiters.clear();
    this.socket.destroy();
  }

  private disconnectedError(what: string): QmpError {
    const reason = this.closeReason;
    if (reason instanceof QmpProtocolError) {
      return new QmpProtocolError(`${reason.message} (while waiting for ${what})`, {
        cause: reason,
      });
    }
    return new QmpDisconnectedError(
      `QMP connection lost while waiting for ${what}: ${reason?.message ?? "closed"}`,
      { cause: reason, hint: "QEMU probably exited; see its stderr and console log" },
    );
  }
}

async function connectWithRetry(
  socketPath: string,
  deadline: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Socket> {
  let lastError: Error | undefined;
  while (Date.now() < deadline) {
    if (signal?.aborted) {
      throw new QmpConnectError(
        `gave up connecting to QMP socket ${socketPath}: ${String(signal.reason)}`,
      );
    }
    try {
      return await connectOnce(socketPath);
    } catch (error) {
      lastError = error as Error;
      const code = (error as NodeJS.ErrnoException).code;
      // The socket appears only once QEMU has set it up; anything else is a real failure.
      if (code !== "ENOENT" && code !== "ECONNREFUSED") break;
      await sleep(CONNECT_RETRY_MS);
    }
  }
  throw new QmpConnectError(
    `could not connect to QMP socket ${socketPath} within ${timeoutMs} ms: ${lastError?.message ?? "timed out"}`,
    { cause: lastError },
  );
}

function connectOnce(socketPath: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    socket.once("connect", () => {
      socket.removeListener("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

function readFirstLine(
  socket: Socket,
  splitter: LineSplitter,
  timeoutMs: number,
  socketPath: string,
): Promise<{ line: string; rest: string[] }> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeListener("close", onClose);
      socket.removeListener("error", onError);
    };
    const timer = setTimeout(
      () => {
        cleanup();
        reject(
          new QmpTimeoutError(
            `no QMP greeting on ${socketPath} within ${Math.max(0, timeoutMs)} ms`,
            timeoutMs,
          ),
        );
      },
      Math.max(0, timeoutMs),
    );
    const onData = (chunk: Buffer): void => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (error) {
        cleanup();
        reject(
          new QmpProtocolError(`QMP peer sent a ${(error as Error).message} before its greeting`),
        );
        return;
      }
      const [line, ...rest] = lines;
      if (line === undefined) return;
      cleanup();
      socket.pause();
      resolve({ line, rest });
    };
    const onClose = (): void => {
      cleanup();
      reject(new QmpDisconnectedError(`QMP socket ${socketPath} closed before the greeting`));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.once("error", onError);
  });
}
