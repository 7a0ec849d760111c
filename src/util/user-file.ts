import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { UsageError } from "../core/errors.js";

/** A file's bytes with their sha256 (uploaded to the guest, recorded in results). */
export interface HashedFile {
  readonly bytes: Buffer;
  readonly sha256: string;
}

/** A user-supplied file (the balloon module): refused in one line when it is not a file. */
export async function readUserFile(path: string, what: string, hint: string): Promise<HashedFile> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || !info.isFile()) {
    throw new UsageError(`${what} '${path}' does not exist or is not a file`, { hint });
  }
  const bytes = await readFile(path);
  return { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}
