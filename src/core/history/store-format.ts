/**
 * The history store's text format, pure: JSON lines, a header line first, then one record per
 * line in the order they were added. Plain text, so it diffs and merges in a git branch and fits a
 * CI cache; a record is committed once its newline is written, so an append killed mid-write
 * leaves a torn last line that readers ignore (and the next add cuts off) and never touches the
 * records before it.
 */
import { UsageError } from "../errors.js";
import { HISTORY_SCHEMA, historyRecordSchema, type HistoryRecord } from "./history-record.js";

export const STORE_FORMAT = "balloon-bench-history";

export interface StoreHeader {
  readonly format: typeof STORE_FORMAT;
  readonly schema: number;
}

export function serializeHeader(): string {
  return `${JSON.stringify({ format: STORE_FORMAT, schema: HISTORY_SCHEMA })}\n`;
}

/** One line; keys in the schema's order, so equal records serialize to equal bytes. */
export function serializeRecord(record: HistoryRecord): string {
  return `${JSON.stringify(historyRecordSchema.parse(record))}\n`;
}

export interface ParsedStore {
  /** Records in file order, first of each id kept. */
  readonly records: HistoryRecord[];
  /** Bytes of the file up to and including the last complete line. */
  readonly validBytes: number;
  /** A last line without its newline: an interrupted append. */
  readonly torn: { readonly line: number; readonly bytes: number } | undefined;
  /** Whether the header line is there (false for an empty file). */
  readonly hasHeader: boolean;
  /** Lines repeating an id already seen (two concurrent adds); ignored. */
  readonly duplicates: number;
}

function newerSchema(path: string, schema: unknown): UsageError {
  return new UsageError(
    `history store ${path} was written by a newer balloon-bench (schema ${String(schema)}; this one reads ${HISTORY_SCHEMA})`,
    { hint: "upgrade balloon-bench, or point --store at a store this version wrote" },
  );
}

function corrupted(path: string, line: number, why: string): UsageError {
  return new UsageError(`history store ${path} is corrupted at line ${line}: ${why}`, {
    hint: `restore ${path} from its git branch or CI cache, or delete line ${line} (the other lines are intact)`,
  });
}

/** The header line: this format, a schema this version reads. */
function checkHeader(line: string, path: string): void {
  let header: unknown;
  try {
    header = JSON.parse(line);
  } catch {
    header = undefined;
  }
  if (
    typeof header !== "object" ||
    header === null ||
    (header as Record<string, unknown>).format !== STORE_FORMAT
  ) {
    throw new UsageError(`${path} is not a balloon-bench history store (no header line)`, {
      hint: "point --store at a file `history add` created, or at a new path to start a store",
    });
  }
  const schema = (header as Record<string, unknown>).schema;
  if (typeof schema !== "number" || !Number.isInteger(schema)) {
    throw corrupted(path, 1, "the header has no schema number");
  }
  if (schema > HISTORY_SCHEMA) throw newerSchema(path, schema);
}

/** One complete record line, validated; `number` is its 1-based line number. */
function parseRecordLine(line: string, number: number, path: string): HistoryRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw corrupted(path, number, `not JSON (${(error as Error).message})`);
  }
  const recordSchema = (value as { schema?: unknown } | null)?.schema;
  if (typeof recordSchema === "number" && recordSchema > HISTORY_SCHEMA) {
    throw newerSchema(path, recordSchema);
  }
  const parsed = historyRecordSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw corrupted(
      path,
      number,
      `${issue?.path.join(".") || "record"}: ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}

/** Parses a store's bytes. Throws UsageError for a newer schema or a corrupted complete line. */
export function parseStore(bytes: Buffer, path: string): ParsedStore {
  // Everything after the last newline is torn: a partial line, or NUL bytes a crash left (the
  // file grew, the data never came).
  const lastNewline = bytes.lastIndexOf(0x0a);
  const validBytes = lastNewline + 1;
  const text = bytes.subarray(0, validBytes).toString("utf8");
  const lines = text === "" ? [] : text.slice(0, -1).split("\n");
  const torn =
    bytes.length > validBytes
      ? { line: lines.length + 1, bytes: bytes.length - validBytes }
      : undefined;

  if (lines.length === 0) {
    return { records: [], validBytes, torn, hasHeader: false, duplicates: 0 };
  }
  checkHeader(lines[0]!, path);
  const records: HistoryRecord[] = [];
  const ids = new Set<string>();
  let duplicates = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    const record = parseRecordLine(line, i + 1, path);
    if (ids.has(record.id)) {
      duplicates++;
      continue;
    }
    ids.add(record.id);
    records.push(record);
  }
  return { records, validBytes, torn, hasHeader: true, duplicates };
}
