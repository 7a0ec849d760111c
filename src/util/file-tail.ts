import { open } from "node:fs/promises";

/** The last `maxLines` lines of a file (reading at most `maxBytes` from its end); "" if absent. */
export async function readTail(path: string, maxLines = 30, maxBytes = 64 * 1024): Promise<string> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch {
    return "";
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString("utf8").replace(/\r/g, "").split("\n");
    if (lines.at(-1) === "") lines.pop();
    return lines.slice(-maxLines).join("\n");
  } finally {
    await handle.close();
  }
}
