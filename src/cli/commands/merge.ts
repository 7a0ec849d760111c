import { mergeShardDirs } from "../../experiment/merge.js";
import type { CliIo } from "../io.js";

/** `balloon-bench merge DIR... --out DIR`: the shards of one plan as one results directory. */
export async function mergeCommand(dirs: readonly string[], out: string, io: CliIo): Promise<void> {
  const merged = await mergeShardDirs(dirs, out);
  io.stdout(`merged ${dirs.length} shards, ${merged.cells} cells: ${out}\n`);
  for (const difference of merged.hostDifferences)
    io.stderr(`warning: shards ran under different host settings: ${difference}\n`);
  if (merged.incomplete.length > 0) {
    io.stdout(
      `incomplete cells (failed or unfinished in their shard): ${merged.incomplete.join(", ")}\n`,
    );
  }
}
