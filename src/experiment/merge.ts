import { cp, readdir } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../core/errors.js";
import {
  mergeManifests,
  shardHostDifferences,
  type ShardInput,
} from "../core/results-format/merge-manifests.js";
import { ResultsDir } from "./results-dir.js";
import { ResultsLock } from "./results-lock.js";

/** `balloon-bench merge DIR... --out DIR`: I/O around mergeManifests. */
export async function mergeShardDirs(
  dirs: readonly string[],
  out: string,
): Promise<{ cells: number; incomplete: string[]; hostDifferences: string[] }> {
  const inputs: ShardInput[] = [];
  for (const dir of dirs) {
    inputs.push({ dir, manifest: await (await ResultsDir.open(dir)).readManifest() });
  }
  const merged = mergeManifests(inputs);
  const { dir: target, manifest: existing } = await ResultsDir.createOrOpen(out);
  if (existing !== undefined) {
    throw new UsageError(`--out ${out} already holds results`, {
      hint: "merge into a new directory",
    });
  }
  await using _lock = await ResultsLock.acquire(target.path, ["merge", ...dirs]);
  for (const input of inputs) {
    for (const sub of ["cells", "boots"]) {
      const from = join(input.dir, sub);
      for (const entry of await readdir(from).catch(() => [])) {
        await cp(join(from, entry), join(target.path, sub, entry), {
          recursive: true,
          errorOnExist: true,
          force: false,
        });
      }
    }
  }
  await target.writeManifest(merged);
  return {
    cells: merged.cells.length,
    incomplete: merged.cells.filter((c) => c.status !== "complete").map((c) => c.id),
    hostDifferences: shardHostDifferences(inputs),
  };
}
