import { UsageError } from "../errors.js";
import type { Cell } from "./plan.js";

/** Slice `index` (1-based) of `count`: what one runner of a CI matrix runs. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (match === null || count < 1 || index < 1 || index > count) {
    throw new UsageError(`--shard '${text}' is not a slice I/N with 1 <= I <= N`, {
      hint: "e.g. --shard 1/4 on the first of four runners",
    });
  }
  return { index, count };
}

/**
 * Pure: the cells of one shard. Cells are dealt round-robin in plan order, so the partition
 * depends only on the plan: every shard of the same plan agrees on it, and together the shards
 * hold each cell exactly once.
 */
export function shardCells(cells: readonly Cell[], shard: Shard): Cell[] {
  return cells.filter((_, i) => i % shard.count === shard.index - 1);
}
