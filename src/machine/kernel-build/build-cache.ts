import { readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { KernelBuildIdentity } from "../../core/kernel/kernel-build-plan.js";
import { kernelBuildIdentitySchema } from "../../core/results-format/manifest.js";
import { writeFileAtomic } from "../../util/atomic-file.js";
import { pathExists } from "../../util/path-exists.js";

/**
 * The kernel build cache: CACHE/kernel-builds/KEY holds one finished build (bzImage, modules/,
 * config, build.log, build.json); inputs/IKEY.json maps the inputs to the KEY they built; tmp/
 * holds builds in progress (named with their pid), failed/ the logs of failed builds.
 */

/** What a build produced, as callers use it. */
export interface KernelBuild {
  readonly bzImagePath: string;
  /** A `make modules_install INSTALL_MOD_PATH=` tree: modulesDir/lib/modules/RELEASE. */
  readonly modulesDir: string;
  readonly release: string;
  readonly identity: KernelBuildIdentity;
  /** True when the build was found in the cache (nothing was compiled). */
  readonly cached: boolean;
  readonly logPath: string;
  readonly configPath: string;
  /** The cache entry's name (CACHE/kernel-builds/KEY). */
  readonly key: string;
  /** Wall time of the build itself (when it was built, not when found in the cache). */
  readonly buildSeconds: number;
}

export const RECORD_NAME = "build.json";

export const buildRecordSchema = z.object({
  format: z.literal(1),
  key: z.string(),
  release: z.string(),
  identity: kernelBuildIdentitySchema,
  tree: z.string(),
  ref: z.string().optional(),
  config: z.string(),
  jobs: z.number(),
  ccache: z.boolean(),
  buildSeconds: z.number(),
  builtAt: z.string(),
});
export type BuildRecord = z.infer<typeof buildRecordSchema>;

const inputRecordSchema = z.object({ key: z.string() });

export interface BuildCache {
  readonly root: string;
  readonly tmp: string;
  readonly inputs: string;
  readonly failed: string;
  readonly treeHashes: string;
}

export function buildCacheOf(cacheRoot: string): BuildCache {
  const root = join(cacheRoot, "kernel-builds");
  return {
    root,
    tmp: join(root, "tmp"),
    inputs: join(root, "inputs"),
    failed: join(root, "failed"),
    treeHashes: join(root, "tree-hashes"),
  };
}

/** The entry as the requester sees it: its own source identity (the entry may be another's). */
export function resultOf(
  cache: BuildCache,
  record: BuildRecord,
  cached: boolean,
  identity: KernelBuildIdentity,
): KernelBuild {
  const entry = join(cache.root, record.key);
  return {
    bzImagePath: join(entry, "bzImage"),
    modulesDir: join(entry, "modules"),
    release: record.release,
    identity,
    cached,
    logPath: join(entry, "build.log"),
    configPath: join(entry, "config"),
    key: record.key,
    buildSeconds: record.buildSeconds,
  };
}

/** A finished entry's record; undefined for an absent or incomplete one. */
export async function readEntry(cache: BuildCache, key: string): Promise<BuildRecord | undefined> {
  const entry = join(cache.root, key);
  try {
    const parsed = buildRecordSchema.safeParse(
      JSON.parse(await readFile(join(entry, RECORD_NAME), "utf8")),
    );
    if (!parsed.success || !(await pathExists(join(entry, "bzImage")))) return undefined;
    return parsed.data;
  } catch {
    return undefined;
  }
}

/** The finished build these inputs made before, if it is still in the cache. */
export async function findByInputs(
  cache: BuildCache,
  inputKey: string,
): Promise<BuildRecord | undefined> {
  const known = await readFile(join(cache.inputs, `${inputKey}.json`), "utf8")
    .then((t) => inputRecordSchema.safeParse(JSON.parse(t)))
    .catch(() => undefined);
  return known?.success === true ? readEntry(cache, known.data.key) : undefined;
}

export async function rememberInputs(
  cache: BuildCache,
  inputKey: string,
  key: string,
): Promise<void> {
  await writeFileAtomic(join(cache.inputs, `${inputKey}.json`), JSON.stringify({ key }));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Work folders of builds whose process is gone (interrupted, killed): never complete, removed. */
export async function removeStaleWork(cache: BuildCache): Promise<void> {
  const names = await readdir(cache.tmp).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(/-p(\d+)-/.exec(name)?.[1] ?? NaN);
    if (Number.isInteger(pid) && pid !== process.pid && !pidAlive(pid)) {
      await rm(join(cache.tmp, name), { recursive: true, force: true });
    }
  }
}
