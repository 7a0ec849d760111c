import { uniformInt } from "pure-rand/distribution/uniformInt";
import { mersenne } from "pure-rand/generator/mersenne";
import type { Cell, Plan } from "./plan.js";

/** One workload's share of a boot: warm-ups first, then these counted iteration numbers. */
export interface BootWorkload {
  readonly cellId: string;
  readonly workload: string;
  readonly warmups: number;
  /** 1-based counted iteration numbers of the cell run in this boot. */
  readonly iterations: readonly number[];
}

/** One VM boot: a kernel × config in one round, running a slice of each of its cells. */
export interface Boot {
  readonly id: string;
  readonly round: number;
  readonly kernel: string;
  readonly config: string;
  readonly workloads: readonly BootWorkload[];
}

export interface Schedule {
  readonly seed: number;
  readonly boots: readonly Boot[];
}

/**
 * How many counted iterations each round gets: as even as possible, earlier rounds taking the
 * remainder (10 over 3 rounds: 4, 3, 3).
 */
export function iterationsPerRound(iterations: number, rounds: number): number[] {
  return Array.from(
    { length: rounds },
    (_, r) => Math.floor(iterations / rounds) + (r < iterations % rounds ? 1 : 0),
  );
}

function shuffled<T>(items: readonly T[], rng: ReturnType<typeof mersenne>): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * Pure: the order of boots. Every round boots each kernel × config once, in an order shuffled
 * with the seed (workloads within a boot too), so slow drift on the host spreads over all cells
 * instead of landing on whichever ran last. Same plan, cells and seed: same schedule.
 */
export function buildSchedule(plan: Plan, cells: readonly Cell[], seed: number): Schedule {
  // Mersenne Twister scrambles its seed; pure-rand's xoroshiro128+ takes a small seed as its
  // state, and its first draws came in equal pairs: rounds 1 and 2 always had one order.
  const rng = mersenne(seed);
  const pairs: { kernel: string; config: string; cells: Cell[] }[] = [];
  for (const cell of cells) {
    let pair = pairs.find((p) => p.kernel === cell.kernel && p.config === cell.config);
    if (pair === undefined) {
      pair = { kernel: cell.kernel, config: cell.config, cells: [] };
      pairs.push(pair);
    }
    pair.cells.push(cell);
  }
  const perRound = iterationsPerRound(plan.iterations, plan.rounds);
  const boots: Boot[] = [];
  let firstIteration = 1;
  for (const [r, count] of perRound.entries()) {
    const iterations = Array.from({ length: count }, (_, i) => firstIteration + i);
    firstIteration += count;
    for (const pair of shuffled(pairs, rng)) {
      boots.push({
        id: `${pair.cells[0]?.id.split("__").slice(0, 2).join("__")}__r${r + 1}`,
        round: r + 1,
        kernel: pair.kernel,
        config: pair.config,
        workloads: shuffled(pair.cells, rng).map((cell) => ({
          cellId: cell.id,
          workload: cell.workload,
          warmups: plan.warmups,
          iterations,
        })),
      });
    }
  }
  return { seed, boots };
}

/** Key of a counted iteration, as recorded in samples.jsonl. */
export function iterationKey(cellId: string, iteration: number): string {
  return `${cellId}#${iteration}`;
}

/**
 * Pure: the part of a schedule still to run, given the counted iterations already on disk.
 * A boot with nothing left is dropped; a partly done boot keeps its warm-ups (a fresh VM is cold).
 */
export function remainingSchedule(schedule: Schedule, done: ReadonlySet<string>): Boot[] {
  const boots: Boot[] = [];
  for (const boot of schedule.boots) {
    const workloads = boot.workloads
      .map((w) => ({
        ...w,
        iterations: w.iterations.filter((i) => !done.has(iterationKey(w.cellId, i))),
      }))
      .filter((w) => w.iterations.length > 0);
    if (workloads.length > 0) boots.push({ ...boot, workloads });
  }
  return boots;
}

/** A seed for a plan that names none (recorded in the manifest, reused on resume). */
export function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
