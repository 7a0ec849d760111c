import { cp, readdir } from "node:fs/promises";
import { join } from "node:path";
import { fingerprintDifference, type Fingerprint } from "./run-experiment.js";
import { UsageError } from "../core/errors.js";
import { ResultsDir } from "./results-dir.js";

/** What merge reads of a shard's manifest. */
export interface ShardManifest {
  readonly schema?: number;
  readonly plan?: { readonly hash: string; readonly seed: number };
  readonly shard?: { readonly index: number; readonly count: number } | null;
  readonly fingerprint?: Fingerprint;
  readonly cells?: readonly { readonly id: string; readonly status: string }[];
  readonly boots?: readonly unknown[];
  readonly runs?: readonly unknown[];
  readonly skipped?: readonly unknown[];
  readonly [key: string]: unknown;
}

export interface ShardInput {
  readonly dir: string;
  readonly manifest: ShardManifest;
}

/**
 * Pure: checks that the inputs are the shards 1..N of one plan, run with the same seed on
 * compatible setups, and returns the merged manifest. Errors name the directories involved.
 */
export function mergeManifests(inputs: readonly ShardInput[]): Record<string, unknown> {
  const hint = "merge the shard directories of one `run --plan FILE --shard I/N` matrix";
  if (inputs.length === 0) throw new UsageError("merge needs shard directories", { hint });
  for (const input of inputs) {
    if (input.manifest.schema !== 2 || input.manifest.plan === undefined) {
      throw new UsageError(
        `${input.dir} was not written by \`run\` with a plan (imported or older results)`,
        { hint },
      );
    }
    if (input.manifest.shard == null) {
      throw new UsageError(`${input.dir} is not a shard (it was run without --shard)`, { hint });
    }
  }
  const [first, ...rest] = inputs as [ShardInput, ...ShardInput[]];
  for (const other of rest) {
    if (other.manifest.plan!.hash !== first.manifest.plan!.hash) {
      throw new UsageError(
        `${other.dir} and ${first.dir} come from different plans (plan hash ${other.manifest.plan!.hash.slice(0, 12)} vs ${first.manifest.plan!.hash.slice(0, 12)})`,
        { hint },
      );
    }
    if (other.manifest.plan!.seed !== first.manifest.plan!.seed) {
      throw new UsageError(
        `${other.dir} and ${first.dir} used different seeds (${other.manifest.plan!.seed} vs ${first.manifest.plan!.seed})`,
        { hint: "give the plan a seed so every shard uses it" },
      );
    }
    const difference = fingerprintDifference(
      first.manifest.fingerprint!,
      other.manifest.fingerprint!,
    );
    if (difference !== undefined) {
      throw new UsageError(
        `${other.dir} was measured in a different environment from ${first.dir}: ${difference}`,
        {
          hint: "run every shard on runners with the same QEMU, accelerator, host kernel, CPU, image and kernels",
        },
      );
    }
  }
  const count = first.manifest.shard!.count;
  const byIndex = new Map<number, string>();
  for (const input of inputs) {
    const shard = input.manifest.shard!;
    if (shard.count !== count) {
      throw new UsageError(
        `${input.dir} is shard ${shard.index}/${shard.count}, but ${first.dir} is one of ${count}`,
        { hint },
      );
    }
    const seen = byIndex.get(shard.index);
    if (seen !== undefined) {
      throw new UsageError(
        `shard ${shard.index}/${count} is given twice: ${seen} and ${input.dir}`,
        { hint: "pass each shard directory once" },
      );
    }
    byIndex.set(shard.index, input.dir);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    throw new UsageError(
      `shard${missing.length > 1 ? "s" : ""} ${missing.map((i) => `${i}/${count}`).join(", ")} missing`,
      {
        hint: "pass every shard directory of the matrix (a failed runner's shard can be re-run with the same --shard)",
      },
    );
  }
  const ordered = [...inputs].sort((a, b) => a.manifest.shard!.index - b.manifest.shard!.index);
  return {
    ...first.manifest,
    shard: null,
    mergedFrom: ordered.map((i) => ({ dir: i.dir, shard: i.manifest.shard })),
    runs: ordered.flatMap((i) => i.manifest.runs ?? []),
    cells: ordered.flatMap((i) => i.manifest.cells ?? []),
    boots: ordered.flatMap((i) => i.manifest.boots ?? []),
    schedule: {
      bootOrder: ordered.map(
        (i) => (i.manifest["schedule"] as { bootOrder: string[] } | undefined)?.bootOrder ?? [],
      ),
    },
  };
}

/** `balloon-bench merge DIR... --out DIR`: I/O around mergeManifests. */
export async function mergeShardDirs(
  dirs: readonly string[],
  out: string,
): Promise<{ cells: number; incomplete: string[] }> {
  const inputs: ShardInput[] = [];
  for (const dir of dirs) {
    const results = await ResultsDir.open(dir);
    inputs.push({ dir, manifest: await results.readManifest<ShardManifest>() });
  }
  const merged = mergeManifests(inputs);
  const { dir: target, manifest: existing } = await ResultsDir.createOrResume(out);
  if (existing !== undefined) {
    throw new UsageError(`--out ${out} already holds results`, {
      hint: "merge into a new directory",
    });
  }
  for (const input of inputs) {
    for (const sub of ["cells", "boots"]) {
      const from = join(input.dir, sub);
      const entries = await readdir(from).catch(() => []);
      for (const entry of entries) {
        await cp(join(from, entry), join(target.path, sub, entry), {
          recursive: true,
          errorOnExist: true,
          force: false,
        });
      }
    }
  }
  await target.writeManifest(merged);
  const cells = merged["cells"] as { id: string; status: string }[];
  return {
    cells: cells.length,
    incomplete: cells.filter((c) => c.status !== "complete").map((c) => c.id),
  };
}
