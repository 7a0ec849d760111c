import { appendFile, open, rename, writeFile } from "node:fs/promises";
import { dirname, basename, join } from "node:path";

/**
 * Writes a file so a crash leaves either the old or the new content, never half: write a temp
 * file beside it, fsync, rename over. Results files go through here.
 */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  await writeFile(tmp, data);
  const handle = await open(tmp, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

/**
 * Appends one JSON line and fsyncs: a crash can lose at most the line being written, and a
 * reader skips a torn last line (see readJsonLines).
 */
export async function appendJsonLine(path: string, record: unknown): Promise<void> {
  await appendFile(path, `${JSON.stringify(record)}\n`);
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
