import type { Cell, Plan } from "../core/plan/plan.js";
import { remainingSchedule, type Boot } from "../core/plan/schedule.js";
import type { Shard } from "../core/plan/shard.js";
import { InterruptedError } from "../core/errors.js";
import { guestMemoryOf } from "../core/plan/vm-options.js";
import type { AcceleratorChoice } from "../core/qemu/accelerator.js";
import { BootFailure, runBoot, type BootRunnerContext } from "./boot-runner.js";
import { realMachinePort, type MachinePort } from "./machine-port.js";
import { lockExistingResults, openResults, type OpenedResults } from "./open-results.js";
import { preflight, type Setup, type SkippedConfig } from "./preflight.js";
import type { RunReporter } from "./run-reporter.js";
import { beginGracefulWork } from "../util/shutdown.js";

export interface ExperimentRequest {
  readonly plan: Plan;
  readonly out: string;
  readonly qemu?: string | undefined;
  /** Run the cells whose configs this QEMU can offer, and list the others, instead of failing. */
  readonly skipUnsupported: boolean;
  readonly shard?: Shard | undefined;
  /** What the user typed, for the manifest. */
  readonly command: readonly string[];
  /** Aborted by an interrupt: the run stops between steps and records where it was. */
  readonly signal?: AbortSignal;
  /** Told the results directory as soon as it exists (e.g. to say how to resume). */
  readonly onResultsDir?: (dir: string) => void;
}

export interface FailedCell {
  readonly cell: string;
  readonly reason: string;
}

export interface ExperimentResult {
  readonly resultsDir: string;
  readonly accelerator: AcceleratorChoice;
  readonly cells: readonly Cell[];
  readonly failed: readonly FailedCell[];
  readonly skipped: readonly SkippedConfig[];
  /** Counted iterations found on disk from an earlier, interrupted run. */
  readonly resumedIterations: number;
  readonly seed: number;
  readonly wallMs: number;
}

/**
 * `balloon-bench run`: every cell of the plan, booted in the seeded interleaved order, with
 * results written as they complete.
 */
export async function runExperiment(
  request: ExperimentRequest,
  reporter: RunReporter,
  port: MachinePort = realMachinePort,
): Promise<ExperimentResult> {
  const started = Date.now();
  const signal = request.signal ?? new AbortController().signal;
  // On an interrupt this run unwinds by itself: it records the boot it was in and stops its VMs.
  using _graceful = beginGracefulWork();
  const log = (line: string): void => reporter.log(line);
  // Results that exist are locked first: a second run on them is refused before any work.
  await using early = await lockExistingResults(request.out, request.command, log);
  // Bad input and bits this QEMU cannot offer fail here, before results or VMs exist.
  const setup = await preflight(request, port, reporter);
  // A new results directory, or this experiment's unfinished one (the one compatibility rule).
  const opened = await openResults(setup, { ...request, lock: early }, port.host(), log);
  await using _lock = opened.lock;
  request.onResultsDir?.(opened.results.path);
  // What is left, in the seeded interleaved order: a resume skips what is on disk.
  const boots = remainingSchedule(opened.schedule, opened.done);
  await opened.store.beginRun(new Date().toISOString(), request.command, opened.done.size);
  if (opened.resumed) {
    reporter.log(
      `resuming ${opened.results.path}: ${opened.done.size} iterations already done, ${boots.length} of ${opened.schedule.boots.length} boots left`,
    );
  }
  // Boot by boot: a failing VM fails its kernel × config and the run goes on.
  const failed = await runBoots(boots, bootContext(setup, opened, request, reporter, port, signal));
  // A cell is complete when all its counted iterations are on disk.
  await opened.store.finish(await countedPerCell(opened, setup.cells), setup.plan.iterations);
  return {
    resultsDir: opened.results.path,
    accelerator: setup.machine.accelerator,
    cells: setup.cells,
    failed,
    skipped: setup.skipped,
    resumedIterations: opened.done.size,
    seed: opened.schedule.seed,
    wallMs: Date.now() - started,
  };
}

function bootContext(
  setup: Setup,
  opened: OpenedResults,
  request: ExperimentRequest,
  reporter: RunReporter,
  port: MachinePort,
  signal: AbortSignal,
): BootRunnerContext {
  const { plan, machine } = setup;
  return {
    plan,
    kernels: machine.kernels,
    devices: setup.devices,
    accelerator: machine.accelerator.accelerator,
    allocOnce: setup.workload.bytes,
    balloonModule: setup.balloonModule?.bytes,
    shard: request.shard,
    results: opened.results,
    store: opened.store,
    reporter,
    signal,
    bootGuest: (boot) =>
      port.boot(
        machine,
        {
          memoryMiB: plan.memoryMiB,
          vcpus: plan.vcpus,
          bootTimeoutMs: plan.bootTimeoutMs,
          memory: guestMemoryOf(plan),
          pin: plan.pin,
        },
        boot,
      ),
  };
}

/**
 * The failure policy: a boot that fails marks its kernel × config failed for the rest of the
 * run (its console tail reported), later boots of it are skipped, the others go on. An
 * interrupt ends the loop with an InterruptedError once the boot has recorded it.
 */
async function runBoots(boots: readonly Boot[], ctx: BootRunnerContext): Promise<FailedCell[]> {
  const failed = new Map<string, string>();
  const total = boots.reduce(
    (sum, b) => sum + b.workloads.reduce((s, w) => s + w.warmups + w.iterations.length, 0),
    0,
  );
  ctx.reporter.start(total);
  try {
    for (const boot of boots) {
      if (ctx.signal.aborted) throw new InterruptedError("interrupted");
      if (boot.workloads.every((w) => failed.has(w.cellId))) continue;
      try {
        await runBoot(boot, ctx);
      } catch (error) {
        // A full disk or a lost permission (thrown as is by runBoot) stops the run, resumable.
        if (!(error instanceof BootFailure)) throw error;
        ctx.reporter.log(`boot ${boot.id} failed: ${error.message}`);
        if (error.consoleTail !== "")
          ctx.reporter.log(
            `--- guest console of ${boot.id} (last lines) ---\n${error.consoleTail}`,
          );
        for (const id of await ctx.store.failCells(
          boot.kernel,
          boot.config,
          error.message,
          error.consoleTail,
        ))
          failed.set(id, error.message);
      }
    }
  } finally {
    ctx.reporter.stop();
  }
  return [...failed].map(([cell, reason]) => ({ cell, reason }));
}

async function countedPerCell(
  opened: OpenedResults,
  cells: readonly Cell[],
): Promise<Map<string, number>> {
  const counted = new Map<string, number>();
  for (const cell of cells) {
    const samples = await opened.results.readSamples(cell.id);
    counted.set(cell.id, new Set(samples.filter((s) => !s.warmup).map((s) => s.iteration)).size);
  }
  return counted;
}
