import type { Boot } from "../core/plan/schedule.js";
import type { Plan, Workload } from "../core/plan/plan.js";
import { interferenceBetween } from "../core/host/interference.js";
import { parsePerfStatCsv } from "../core/perf/perf-csv.js";
import {
  GUEST_ALLOC_ONCE,
  describeIterationFailure,
  parseGuestSpanMs,
  parseVmstatDeltas,
  perfIterationArgv,
  type SettleMode,
} from "../core/protocol/guest-protocol.js";
import {
  countersFromPerfRun,
  type IterationTelemetry,
  type Sample,
} from "../core/results-format/sample.js";
import { TimeoutError } from "../core/errors.js";
import { HANG_TIMEOUT_MS, iterationTimeoutMs } from "../core/plan/plan-defaults.js";
import {
  MiB,
  moveBalloon,
  queryBalloonActualBytes,
  readGuestMemoryStats,
  waitForGuestMemoryStats,
} from "../machine/balloon/balloon-control.js";
import { settleBeforePerf } from "./settle-step.js";
import { watchIteration } from "./watchdog.js";
import { GuestCommandError } from "../machine/guest/guest-errors.js";
import type { GuestSession } from "./guest-session.js";

/** Everything one iteration of a workload in a boot needs to know. */
export interface IterationContext {
  readonly session: GuestSession;
  readonly plan: Pick<
    Plan,
    | "events"
    | "memoryMiB"
    | "vmstat"
    | "guestStats"
    | "settleMs"
    | "iterationTimeoutMs"
    | "hangTimeoutMs"
  >;
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

/** How long to wait for statistics the guest sent after the iteration (polled every second). */
const GUEST_STATS_WAIT_MS = 5_000;

/**
 * Guest memory statistics sent after the iteration ended (QEMU stamps each report's arrival):
 * reading at once would often give the previous report (e.g. the size before a deflate). When
 * none newer comes in time, the last one is recorded with its age.
 */
async function freshGuestStats(
  session: GuestSession,
  endedAtMs: number,
): Promise<Pick<IterationTelemetry, "guestStats" | "guestStatsAgeS">> {
  const since = endedAtMs / 1000;
  try {
    const stats = await waitForGuestMemoryStats(session.qmp, {
      timeoutMs: GUEST_STATS_WAIT_MS,
      sinceS: since,
    });
    return {
      guestStats: stats.stats,
      guestStatsAgeS: Number((since - stats.lastUpdate).toFixed(1)),
    };
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    const stale = await readGuestMemoryStats(session.qmp);
    return {
      guestStats: stale.stats,
      guestStatsAgeS: Number((since - stale.lastUpdate).toFixed(1)),
    };
  }
}

/**
 * The settle, then the measured step in one SSH exec, both under the watchdog; a failure of
 * ours or perf's is a GuestCommandError.
 */
async function settleAndMeasure(ctx: IterationContext, step: IterationStep) {
  const { session, plan, workload } = ctx;
  const work = (async () => {
    const settled = await settleBeforePerf(session, ctx.settle);
    const argv = perfIterationArgv({
      events: plan.events,
      sizeMiB: workload.sizeMiB,
      huge: workload.pages === "hugetlb",
      csvPath: ctx.guestCsv,
      vmstat: plan.vmstat,
    });
    return {
      settled,
      result: await session.exec(argv, { timeoutMs: iterationTimeoutMs(plan, workload) }),
    };
  })();
  // A hung QEMU answers no QMP: noticed in seconds, not when an SSH command times out.
  const { value, stall } = await watchIteration(session, work, {
    hangTimeoutMs: plan.hangTimeoutMs ?? HANG_TIMEOUT_MS,
  });
  const { settled, result } = value;
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
  return { settled, result, last, stall };
}

/**
 * One iteration, following bench.sh: (balloon cycle,) drop caches, flush or settle, then
 * alloc_once under perf stat; then the telemetry around it. Returns the sample to record.
 */
export async function runIteration(
  ctx: IterationContext,
  step: IterationStep,
  startedAt: Date,
): Promise<IterationResult> {
  const { session, plan, workload, boot } = ctx;
  const rssBeforeBytes = await session.hostRssBytes();
  const inflate = await balloonCycle(ctx);
  // Host load from before the settle: QEMU's work on reported pages counts as interference.
  const hostBefore = await session.hostSample?.();
  const t0 = Date.now();
  const { settled, result, last, stall } = await settleAndMeasure(ctx, step);
  const wallMs = Date.now() - t0;
  const hostAfter =
    hostBefore === undefined ? undefined : await session.hostSample?.({ numa: true });
  const telemetry: IterationTelemetry = {
    rssBeforeBytes,
    rssAfterBytes: await session.hostRssBytes(),
    settleRss: settled.settleRss,
    balloonActualBytes: await queryBalloonActualBytes(session.qmp),
    vmstatDeltas: parseVmstatDeltas(result.stderr),
    ...(inflate === undefined ? {} : { inflate }),
    ...(plan.guestStats ? await freshGuestStats(session, Date.now()) : {}),
    ...(stall === undefined ? {} : { stall }),
    ...(hostBefore === undefined || hostAfter === undefined
      ? {}
      : { interference: interferenceBetween(hostBefore, hostAfter) }),
  };
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
    guestPrepareMs: settled.prepareMs,
    guestPerfMs: parseGuestSpanMs(result.stderr, "perf"),
    settle: settled.record,
    counters: countersFromPerfRun(last),
    round: boot.round,
    boot: boot.id,
    rawCsv: ctx.rawCsv,
    perfRun: step.perfRun,
    telemetry,
  };
  return { sample, csv: result.stdout };
}
