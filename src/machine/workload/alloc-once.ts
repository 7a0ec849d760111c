import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { EnvironmentError } from "../../core/errors.js";
import { imagesDir } from "../../util/assets.js";

/** alloc_once as compiled for upload: the static binary, its sha256 and its source's sha256. */
export interface AllocOnceBinary {
  readonly path: string;
  readonly sha256: string;
  readonly sourceSha256: string;
}

/**
 * Compiles images/alloc_once.c (the series' program, byte for byte as in the cover letter, less
 * the e-mail's two-space indent) with `gcc -static -O2`, cached by source hash, so changing the
 * workload never needs an image rebuild.
 */
export async function buildAllocOnce(cacheRoot: string): Promise<AllocOnceBinary> {
  const source = await readFile(join(imagesDir(), "alloc_once.c"));
  const sourceSha256 = createHash("sha256").update(source).digest("hex");
  const dir = join(cacheRoot, "alloc_once", sourceSha256.slice(0, 16));
  const path = join(dir, "alloc_once");
  try {
    const binary = await readFile(path);
    return { path, sha256: createHash("sha256").update(binary).digest("hex"), sourceSha256 };
  } catch {
    // not built yet
  }
  await mkdir(dir, { recursive: true });
  const sourcePath = join(dir, "alloc_once.c");
  await writeFile(sourcePath, source);
  const tmp = `${path}.tmp-${process.pid}`;
  const result = await execa("gcc", ["-static", "-O2", "-o", tmp, sourcePath], { reject: false });
  if (result.exitCode !== 0) {
    await rm(tmp, { force: true });
    throw new EnvironmentError(
      `gcc -static failed to build alloc_once: ${result.stderr.split("\n")[0] ?? ""}`,
      {
        hint: "install gcc and libc6-dev (`bash scripts/install-deps.sh`)",
      },
    );
  }
  await rename(tmp, path);
  const binary = await readFile(path);
  return { path, sha256: createHash("sha256").update(binary).digest("hex"), sourceSha256 };
}
