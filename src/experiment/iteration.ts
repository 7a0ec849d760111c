import type { Boot } from "../core/plan/schedule.js";
import type { Plan, Workload } from "../core/plan/plan.js";
import { parsePerfStatCsv } from "../core/perf/perf-csv.js";
import {
  GUEST_ALLOC_ONCE,
  describeIterationFailure,
  iterationArgv,
  parseIterationTimes,
  parseVmstatDeltas,
  type SettleMode,
} from "../core/protocol/guest-protocol.js";
import {
  countersFromPerfRun,
  type IterationTelemetry,
  type Sample,
  type SettleRecord,
} from "../core/results-format/sample.js";
import {
  MiB,
  moveBalloon,
  queryBalloonActualBytes,
  readGuestMemoryStats,
} from "../machine/balloon/balloon-control.js";
import { GuestCommandError } from "../machine/guest/guest-errors.js";
import type { GuestSession } from "./guest-session.js";

/** A generous bound: an iteration that takes longer than this has hung. */
export const ITERATION_TIMEOUT_MS = 10 * 60_000;

/** Everything one iteration of a workload in a boot needs to know. */
export interface IterationContext {
  readonly session: GuestSession;
  readonly plan: Pick<Plan, "events" | "memoryMiB" | "vmstat" | "guestStats">;
  readonly boot: Boot;
  readonly cellId: string;
  readonly workload: Workload;
  readonly settle: SettleMode;
  /** Guest path of this workload's perf CSV (perf appends one run per iteration). */
  readonly guestCsv: string;
  /** The raw CSV's file name in the cell's folder. */
  readonly rawCsv: string;
}

export interface IterationStep {
  readonly warmup: boolean;
  /** 1-based: counted iteration number, or warm-up number. */
  readonly iteration: number;
  /** 0-based index of this iteration's run in the perf CSV of the boot. */
  readonly perfRun: number;
}

export interface IterationResult {
  readonly sample: Sample;
  /** The whole perf CSV of this boot so far, byte for byte. */
  readonly csv: string;
}

/** The inflate-then-deflate scenario: pages the workload then gets come from deflated memory. */
async function balloonCycle(ctx: IterationContext): Promise<IterationTelemetry["inflate"]> {
  const { workload, session, plan } = ctx;
  if (workload.balloon.kind !== "inflate-deflate") return undefined;
  const fullBytes = plan.memoryMiB * MiB;
  const targetBytes = fullBytes - workload.balloon.inflateMiB * MiB;
  const timeoutMs = workload.balloon.timeoutMs;
  const down = await moveBalloon(session.qmp, targetBytes, { timeoutMs });
  const rssInflatedBytes = await session.hostRssBytes();
  const up = await moveBalloon(session.qmp, fullBytes, { timeoutMs });
  return { targetBytes, inflateMs: down.durationMs, deflateMs: up.durationMs, rssInflatedBytes };
}

function settleRecord(settle: SettleMode): SettleRecord {
  if (settle.method === "flush") return { method: "flush", flushPages: settle.pages };
  if (settle.method === "sleep") return { method: "sleep", sleptMs: settle.ms };
  return { method: "none" };
}

/** The bench.sh step itself in one SSH exec; a failure of ours or perf's is a GuestCommandError. */
async function perfIteration(ctx: IterationContext, step: IterationStep) {
  const { session, plan, workload } = ctx;
  const t0 = Date.now();
  const result = await session.exec(
    iterationArgv({
      events: plan.events,
      sizeMiB: workload.sizeMiB,
      huge: workload.pages === "hugetlb",
      settle: ctx.settle,
      csvPath: ctx.guestCsv,
      vmstat: plan.vmstat,
    }),
    { timeoutMs: ITERATION_TIMEOUT_MS },
  );
  const wallMs = Date.now() - t0;
  if (result.exitCode !== 0) {
    throw new GuestCommandError(
      ["perf", "stat", "...", GUEST_ALLOC_ONCE, String(workload.sizeMiB)],
      result.exitCode,
      result.signal,
      describeIterationFailure(result.exitCode) ?? result.stderr,
    );
  }
  const runs = parsePerfStatCsv(result.stdout, { separator: "," });
  const last = runs.at(-1);
  if (last === undefined || runs.length !== step.perfRun + 1) {
    throw new GuestCommandError(
      ["perf", "stat"],
      0,
      undefined,
      `expected ${step.perfRun + 1} runs in the perf CSV, found ${runs.length}`,
    );
  }
  return { result, wallMs, last };
}

/**
 * One iteration, following bench.sh: (balloon cycle,) drop caches, flush or settle, alloc_once
 * under perf stat, in one SSH exec; then the telemetry around it. Returns the sample to record.
 */
export async function runIteration(
  ctx: IterationContext,
  step: IterationStep,
  startedAt: Date,
): Promise<IterationResult> {
  const { session, plan, workload, boot } = ctx;
  const rssBeforeBytes = await session.hostRssBytes();
  const inflate = await balloonCycle(ctx);
  const { result, wallMs, last } = await perfIteration(ctx, step);
  const telemetry: IterationTelemetry = {
    rssBeforeBytes,
    rssAfterBytes: await session.hostRssBytes(),
    balloonActualBytes: await queryBalloonActualBytes(session.qmp),
    vmstatDeltas: parseVmstatDeltas(result.stderr),
    ...(inflate === undefined ? {} : { inflate }),
    ...(plan.guestStats ? { guestStats: (await readGuestMemoryStats(session.qmp)).stats } : {}),
  };
  const times = parseIterationTimes(result.stderr);
  const sample: Sample = {
    schema: 1,
    cell: ctx.cellId,
    kernel: boot.kernel,
    config: boot.config,
    workload: workload.name,
    iteration: step.iteration,
    warmup: step.warmup,
    startedAt: startedAt.toISOString(),
    wallMs,
    guestPrepareMs: times?.prepareMs,
    guestPerfMs: times?.perfMs,
    settle: settleRecord(ctx.settle),
    counters: countersFromPerfRun(last),
    round: boot.round,
    boot: boot.id,
    rawCsv: ctx.rawCsv,
    perfRun: step.perfRun,
    telemetry,
  };
  return { sample, csv: result.stdout };
}
