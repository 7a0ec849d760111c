import { UsageError } from "../errors.js";
import { describeHostDifference, hostSettingDifferences } from "../host/host-state.js";
import { compatible, runIdentity } from "./compatible.js";
import type { Manifest, RunManifest } from "./manifest.js";

export interface ShardInput {
  readonly dir: string;
  readonly manifest: Manifest;
}

type Shard = ShardInput & {
  readonly manifest: RunManifest & { shard: { index: number; count: number } };
};

const HINT = "merge the shard directories of one `run --plan FILE --shard I/N` matrix";

function asShard(input: ShardInput): Shard {
  if (input.manifest.kind !== "run") {
    throw new UsageError(
      `${input.dir} was not written by \`run\` with a plan (imported or older results)`,
      {
        hint: HINT,
      },
    );
  }
  if (input.manifest.shard === null) {
    throw new UsageError(`${input.dir} is not a shard (it was run without --shard)`, {
      hint: HINT,
    });
  }
  return input as Shard;
}

function checkCompatible(first: Shard, other: Shard): void {
  const conflict = compatible(runIdentity(first.manifest), runIdentity(other.manifest), "merge");
  if (conflict === undefined) return;
  if (conflict.field === "plan")
    throw new UsageError(
      `${other.dir} and ${first.dir} come from different plans (${conflict.detail})`,
      {
        hint: HINT,
      },
    );
  if (conflict.field === "seed")
    throw new UsageError(
      `${other.dir} and ${first.dir} used different seeds (${conflict.b} vs ${conflict.a})`,
      {
        hint: "give the plan a seed so every shard uses it",
      },
    );
  throw new UsageError(
    `${other.dir} was measured in a different environment from ${first.dir}: ${conflict.field === "fingerprint" ? conflict.detail : conflict.field}`,
    {
      hint: "run every shard on runners with the same QEMU, accelerator, host kernel, CPU, image and kernels",
    },
  );
}

function checkShardSet(shards: readonly Shard[]): void {
  const count = shards[0]?.manifest.shard.count ?? 0;
  const byIndex = new Map<number, string>();
  for (const { dir, manifest } of shards) {
    const { index, count: theirs } = manifest.shard;
    if (theirs !== count) {
      throw new UsageError(
        `${dir} is shard ${index}/${theirs}, but ${shards[0]?.dir} is one of ${count}`,
        {
          hint: HINT,
        },
      );
    }
    const seen = byIndex.get(index);
    if (seen !== undefined) {
      throw new UsageError(`shard ${index}/${count} is given twice: ${seen} and ${dir}`, {
        hint: "pass each shard directory once",
      });
    }
    byIndex.set(index, dir);
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
}

/**
 * Pure: checks that the inputs are the shards 1..N of one plan, run with the same seed on
 * compatible setups (the one `compatible` rule), and returns the merged manifest.
 */
export function mergeManifests(inputs: readonly ShardInput[]): RunManifest {
  if (inputs.length === 0) throw new UsageError("merge needs shard directories", { hint: HINT });
  const shards = inputs.map(asShard);
  const [first, ...rest] = shards as [Shard, ...Shard[]];
  for (const other of rest) checkCompatible(first, other);
  checkShardSet(shards);
  const ordered = [...shards].sort((a, b) => a.manifest.shard.index - b.manifest.shard.index);
  return {
    ...first.manifest,
    shard: null,
    mergedFrom: ordered.map((i) => ({
      dir: i.dir,
      shard: i.manifest.shard,
      ...(i.manifest.hostState === undefined ? {} : { hostState: i.manifest.hostState }),
    })),
    runs: ordered.flatMap((i) => i.manifest.runs),
    cells: ordered.flatMap((i) => cellsWithHostState(i.manifest, first.manifest.hostState)),
    boots: ordered.flatMap((i) => i.manifest.boots),
    schedule: {
      // A shard of a merged run would already be merged: each shard gives one flat list.
      bootOrder: ordered.map((i) => i.manifest.schedule.bootOrder.flat()),
    },
  };
}

/**
 * A shard's cells, each carrying its shard's host state when that differs from the first shard's
 * (the merged manifest's): so compare flags a comparison across shards run under other settings.
 */
function cellsWithHostState(
  shard: RunManifest,
  base: RunManifest["hostState"],
): RunManifest["cells"] {
  const state = shard.hostState;
  if (state === undefined || hostSettingDifferences(base, state).length === 0) return shard.cells;
  return shard.cells.map((cell) => ({ hostState: state, ...cell }));
}

/**
 * Pure: the host settings (governor, boost, SMT, THP, KSM) in which shards differ from the first,
 * as words: merged anyway (the load differs always; the settings should not), and said.
 */
export function shardHostDifferences(inputs: readonly ShardInput[]): string[] {
  const [first, ...rest] = inputs;
  const base = first?.manifest.kind === "run" ? first.manifest.hostState : undefined;
  return rest.flatMap((other) =>
    other.manifest.kind !== "run"
      ? []
      : hostSettingDifferences(base, other.manifest.hostState).map(
          (d) => `${other.dir} vs ${first?.dir ?? ""}: ${describeHostDifference(d)}`,
        ),
  );
}
