import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, mkdir, readFile, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { sha256Hex, treeContentSha256, type TreeEntry } from "../../core/kernel/build-key.js";
import { writeFileAtomic } from "../../util/atomic-file.js";

/** Per-file hash cache entry: reused while size, mtime and inode are unchanged. */
type StatRecord = [
  size: number,
  mtimeMs: number,
  ino: number,
  type: TreeEntry["type"],
  sha256: string,
];

function sha256Stream(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

async function walk(root: string, rel: string, out: string[]): Promise<void> {
  const entries = await readdir(join(root, rel), { withFileTypes: true });
  for (const entry of entries) {
    const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) await walk(root, path, out);
    else if (entry.isFile() || entry.isSymbolicLink()) out.push(path);
  }
}

async function readStatCache(cachePath: string | undefined): Promise<Record<string, StatRecord>> {
  if (cachePath === undefined) return {};
  try {
    return JSON.parse(await readFile(cachePath, "utf8")) as Record<string, StatRecord>;
  } catch {
    return {};
  }
}

/**
 * The content hash of an unpacked source tree (every file's path, type and content). Files are
 * read once; later calls re-read only files whose size, mtime or inode changed, using a stat
 * cache kept under `statCacheDir` (never in the tree); undefined: no stat cache (a tree hashed
 * once, such as a build's own copy).
 */
export async function hashTreeContent(
  tree: string,
  statCacheDir: string | undefined,
): Promise<{ sha256: string; files: number; rehashed: number }> {
  if (statCacheDir !== undefined) await mkdir(statCacheDir, { recursive: true });
  const cachePath =
    statCacheDir === undefined
      ? undefined
      : join(statCacheDir, `${sha256Hex(tree).slice(0, 24)}.json`);
  const cache = await readStatCache(cachePath);
  const paths: string[] = [];
  await walk(tree, "", paths);
  const next: Record<string, StatRecord> = {};
  const entries: TreeEntry[] = new Array<TreeEntry>(paths.length);
  let rehashed = 0;
  let at = 0;
  const worker = async (): Promise<void> => {
    while (at < paths.length) {
      const i = at++;
      const path = paths[i] as string;
      const full = join(tree, path);
      const info = await lstat(full);
      const type: TreeEntry["type"] = info.isSymbolicLink() ? "l" : info.mode & 0o111 ? "x" : "f";
      const old = cache[path];
      let sha256: string;
      if (
        old !== undefined &&
        old[0] === info.size &&
        old[1] === info.mtimeMs &&
        old[2] === info.ino &&
        old[3] === type
      ) {
        sha256 = old[4];
      } else {
        sha256 = type === "l" ? sha256Hex(await readlink(full)) : await sha256Stream(full);
        rehashed++;
      }
      next[path] = [info.size, info.mtimeMs, info.ino, type, sha256];
      entries[i] = { path, type, sha256 };
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  if (cachePath !== undefined) await writeFileAtomic(cachePath, JSON.stringify(next));
  return { sha256: treeContentSha256(entries), files: paths.length, rehashed };
}

export async function sha256OfFile(path: string): Promise<string> {
  return sha256Stream(path);
}
