import { appendFile, open, rename, rm, writeFile } from "node:fs/promises";
import { dirname, basename, join } from "node:path";

/**
 * Writes a file so a crash leaves either the old or the new content, never half: write a temp
 * file beside it, fsync, rename over. A write that fails (a full disk) removes its temp file.
 * Results files go through here.
 */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  try {
    await writeFile(tmp, data);
    const handle = await open(tmp, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined);
    // The user knows the file, not our temporary name for it (a write may carry no path at all).
    const io = error as NodeJS.ErrnoException;
    if (io.code !== undefined && (io.path === undefined || io.path === tmp)) {
      io.path = path;
      io.syscall ??= "write";
    }
    throw error;
  }
}

/**
 * Appends one JSON line in one write and fsyncs: a crash can tear at most the line being
 * written, which the reader skips and a resume cuts off (ResultsDir.repairTornTail). A failed
 * append (a full disk) is cut back to where the file ended, so no half line stays behind.
 */
export async function appendJsonLine(path: string, record: unknown): Promise<void> {
  const handle = await open(path, "a");
  try {
    const { size } = await handle.stat();
    try {
      await appendFile(handle, `${JSON.stringify(record)}\n`);
      await handle.sync();
    } catch (error) {
      await handle.truncate(size).catch(() => undefined);
      // A write through a file handle carries no path; the user needs to know which file.
      const io = error as NodeJS.ErrnoException;
      io.path ??= path;
      io.syscall ??= "write";
      throw error;
    }
  } finally {
    await handle.close();
  }
}
