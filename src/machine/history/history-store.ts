/**
 * The history store file: reading it, and appending records crash-safely.
 *
 *   - A new store is written whole to a temporary file, fsynced and renamed into place.
 *   - An append is one write of whole lines at the end, then fsync. If it is killed, the lines
 *     before it are untouched and at most the last line is torn; readers ignore a torn last line
 *     and say so, the next append cuts it off first. Record ids make the next add of the same run
 *     fill in whatever the killed one did not write. A write that fails (full disk, file size
 *     limit) is truncated back to where it started.
 *   - Nothing is written before the whole store has been read and validated, so a newer schema or
 *     a corrupted line leaves the file exactly as it was.
 *   - A lock file beside the store (`PATH.lock`, holding the pid and its start time) keeps two
 *     adds apart; a lock left by a process that is gone (or a reused pid) is taken over.
 */
import { closeSync, constants, fsyncSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { open, readFile, rm, stat, truncate } from "node:fs/promises";
import { dirname } from "node:path";
import { UsageError } from "../../core/errors.js";
import { writeFileAtomic } from "../../util/atomic-file.js";
import { isSameProcess, selfIdentity, type ProcessIdentity } from "../../util/process-identity.js";
import { compareRecords, type HistoryRecord } from "../../core/history/history-record.js";
import {
  parseStore,
  serializeHeader,
  serializeRecord,
  type ParsedStore,
} from "../../core/history/store-format.js";

export interface StoreContents {
  readonly records: HistoryRecord[];
  /** What the reader noticed and tolerated (a torn last line, duplicate ids). */
  readonly notes: string[];
}

function notesOf(parsed: ParsedStore, path: string): string[] {
  const notes: string[] = [];
  if (parsed.torn !== undefined) {
    notes.push(
      `${path}: ignored a torn last line (line ${parsed.torn.line}, ${parsed.torn.bytes} bytes) left by an interrupted \`history add\`; the next add removes it`,
    );
  }
  if (parsed.duplicates > 0) {
    notes.push(`${path}: ignored ${parsed.duplicates} line(s) repeating a record id`);
  }
  return notes;
}

async function readParsed(path: string): Promise<ParsedStore | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "EISDIR") {
      throw new UsageError(`history store ${path} is a directory`, {
        hint: "give --store a file path, e.g. history/balloon-bench.jsonl",
      });
    }
    throw error;
  }
  return parseStore(bytes, path);
}

/** Reads a store; a missing store is a UsageError (nothing to analyse). */
export async function readStore(path: string): Promise<StoreContents> {
  const parsed = await readParsed(path);
  if (parsed === undefined) {
    throw new UsageError(`history store ${path} does not exist`, {
      hint: "create it with `balloon-bench history add RESULTS_DIR... --store PATH`",
    });
  }
  return { records: parsed.records, notes: notesOf(parsed, path) };
}

function fsyncDirectory(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dirname(path), constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The identity written in a lock file (pid and start time, so a reused pid is not the holder). */
async function readLockHolder(lock: string): Promise<ProcessIdentity | undefined> {
  try {
    const value = JSON.parse(await readFile(lock, "utf8")) as Partial<ProcessIdentity>;
    if (typeof value.pid === "number" && typeof value.startTime === "number") {
      return { pid: value.pid, startTime: value.startTime };
    }
  } catch {
    // an unreadable lock holds nobody
  }
  return undefined;
}

async function withLock<T>(path: string, body: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lock, "wx");
      await handle.writeFile(`${JSON.stringify(await selfIdentity())}\n`);
      await handle.close();
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") {
        throw new UsageError(`history store directory ${dirname(path)} does not exist`, {
          hint: `create it first (mkdir -p ${dirname(path)}) or give --store another path`,
        });
      }
      if (code !== "EEXIST" || attempt > 0) throw error;
      const holder = await readLockHolder(lock);
      if (holder !== undefined && (await isSameProcess(holder))) {
        const pid = holder.pid;
        throw new UsageError(
          `history store ${path} is locked by another history add (pid ${pid})`,
          {
            hint: `wait for it to finish; if no such process runs, delete ${lock}`,
          },
        );
      }
      await rm(lock, { force: true });
    }
  }
  try {
    return await body();
  } finally {
    await rm(lock, { force: true });
  }
}

export interface AppendResult {
  readonly added: number;
  /** Records whose id the store already had, with the same content. */
  readonly alreadyPresent: number;
  /** Records whose id the store already had with other content (kept as stored). */
  readonly conflicting: number;
  readonly notes: string[];
  readonly created: boolean;
}

function writeAllSync(fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
}

/** Appends the records whose ids the store lacks; creates the store if it does not exist. */
/** The records whose ids the store lacks (in store order), and how many it already had. */
function partition(stored: readonly HistoryRecord[], records: readonly HistoryRecord[]) {
  const lines = new Map(stored.map((r) => [r.id, serializeRecord(r)]));
  const fresh: HistoryRecord[] = [];
  let alreadyPresent = 0;
  let conflicting = 0;
  const incoming = new Set<string>();
  for (const record of records) {
    const old = lines.get(record.id);
    if (old !== undefined) {
      if (old === serializeRecord(record)) alreadyPresent++;
      else conflicting++;
      continue;
    }
    if (incoming.has(record.id)) continue;
    incoming.add(record.id);
    fresh.push(record);
  }
  fresh.sort(compareRecords);
  return { fresh, alreadyPresent, conflicting };
}

/** Appends whole lines in one write and fsyncs; a failed write is cut back to `validBytes`. */
function appendLines(path: string, lines: Buffer, validBytes: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND);
  try {
    writeAllSync(fd, lines);
    fsyncSync(fd);
  } catch (error) {
    // A full disk or a file size limit cut the write short: take the partial lines back.
    try {
      ftruncateSync(fd, validBytes);
      fsyncSync(fd);
    } catch {
      // Readers ignore a torn last line and the next add cuts it off.
    }
    throw error;
  } finally {
    closeSync(fd);
  }
}

/** Appends the records whose ids the store lacks; creates the store if it does not exist. */
export async function appendToStore(
  path: string,
  records: readonly HistoryRecord[],
): Promise<AppendResult> {
  return withLock(path, async () => {
    const parsed = await readParsed(path);
    const { fresh, alreadyPresent, conflicting } = partition(parsed?.records ?? [], records);
    const lines = Buffer.from(fresh.map(serializeRecord).join(""));
    const notes: string[] = [];
    if (conflicting > 0) {
      notes.push(
        `${conflicting} record(s) already in the store under the same id with other values were kept as stored (a results directory changed after it was added?)`,
      );
    }
    const counts = { added: fresh.length, alreadyPresent, conflicting, notes };
    if (parsed === undefined || !parsed.hasHeader) {
      if (parsed !== undefined && (await stat(path)).size > 0) {
        notes.push(`${path}: replaced a torn, empty store (no complete header line)`);
      }
      await writeFileAtomic(path, Buffer.concat([Buffer.from(serializeHeader()), lines]));
      fsyncDirectory(path);
      return { ...counts, created: true };
    }
    if (fresh.length === 0) {
      // Nothing to add: the file stays byte for byte as it was (even a torn line, which readers
      // ignore).
      notes.push(...notesOf(parsed, path));
      return { ...counts, created: false };
    }
    if (parsed.torn !== undefined) {
      await truncate(path, parsed.validBytes);
      notes.push(
        `${path}: removed a torn last line (${parsed.torn.bytes} bytes) left by an interrupted \`history add\``,
      );
    }
    appendLines(path, lines, parsed.validBytes);
    return { ...counts, created: false };
  });
}
