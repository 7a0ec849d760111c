import { QmpProtocolError } from "./qmp-errors.js";

/** Parsed form of the greeting QEMU sends on connect (QMP spec, "Server Greeting"). */
export interface QmpGreeting {
  readonly version: { readonly major: number; readonly minor: number; readonly micro: number };
  /** Distribution build string, e.g. "Debian 1:7.2+dfsg-7+deb12u18+b3". */
  readonly package: string;
  readonly capabilities: readonly string[];
}

export interface QmpEvent {
  readonly event: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** Event time as QEMU stamped it, in microseconds since the epoch. */
  readonly timestampUs: number;
}

export type QmpServerMessage =
  | { readonly kind: "return"; readonly id: unknown; readonly value: unknown }
  | {
      readonly kind: "error";
      readonly id: unknown;
      readonly errorClass: string;
      readonly description: string;
    }
  | { readonly kind: "event"; readonly event: QmpEvent };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function requireNumber(record: Record<string, unknown>, key: string, where: string): number {
  const value = record[key];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new QmpProtocolError(`QMP ${where} requires a numeric '${key}' member`);
  }
  return value;
}

function parseJsonLine(line: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new QmpProtocolError(`QMP peer sent malformed JSON: ${truncate(line)}`, { cause: error });
  }
  if (!isRecord(parsed)) {
    throw new QmpProtocolError(`QMP peer sent a non-object message: ${truncate(line)}`);
  }
  return parsed;
}

function truncate(text: string, maxChars = 200): string {
  return text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
}

export function parseGreeting(line: string): QmpGreeting {
  const message = parseJsonLine(line);
  const qmp = message["QMP"];
  if (!isRecord(qmp)) {
    throw new QmpProtocolError(`expected a QMP greeting, got: ${truncate(line)}`);
  }
  const version = qmp["version"];
  if (!isRecord(version) || !isRecord(version["qemu"])) {
    throw new QmpProtocolError("QMP greeting requires a 'version.qemu' member");
  }
  const qemu = version["qemu"];
  const capabilities = qmp["capabilities"];
  if (!Array.isArray(capabilities) || !capabilities.every((c) => typeof c === "string")) {
    throw new QmpProtocolError("QMP greeting requires a 'capabilities' list of strings");
  }
  return {
    version: {
      major: requireNumber(qemu, "major", "greeting version"),
      minor: requireNumber(qemu, "minor", "greeting version"),
      micro: requireNumber(qemu, "micro", "greeting version"),
    },
    package: typeof version["package"] === "string" ? version["package"] : "",
    capabilities,
  };
}

/** Parses one line QEMU sent after negotiation: a command reply or an asynchronous event. */
export function parseServerMessage(line: string): QmpServerMessage {
  const message = parseJsonLine(line);
  if ("return" in message) {
    return { kind: "return", id: message["id"], value: message["return"] };
  }
  if ("error" in message) {
    const error = message["error"];
    if (!isRecord(error) || typeof error["class"] !== "string") {
      throw new QmpProtocolError(`QMP error reply without an error class: ${truncate(line)}`);
    }
    return {
      kind: "error",
      id: message["id"],
      errorClass: error["class"],
      description: typeof error["desc"] === "string" ? error["desc"] : "",
    };
  }
  if (typeof message["event"] === "string") {
    const timestamp = message["timestamp"];
    const timestampUs = isRecord(timestamp)
      ? requireNumber(timestamp, "seconds", "event timestamp") * 1_000_000 +
        requireNumber(timestamp, "microseconds", "event timestamp")
      : 0;
    const data = message["data"];
    return {
      kind: "event",
      event: { event: message["event"], data: isRecord(data) ? data : {}, timestampUs },
    };
  }
  throw new QmpProtocolError(`QMP peer sent an unknown message: ${truncate(line)}`);
}
