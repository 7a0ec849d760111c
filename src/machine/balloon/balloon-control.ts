import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { BalloonBenchError, TimeoutError } from "../../core/errors.js";
import type { QmpClient } from "../qmp/qmp-client.js";
import { QmpProtocolError } from "../qmp/qmp-errors.js";
import { BALLOON_QOM_PATH } from "../../core/balloon/balloon-device.js";

export const MiB = 1024 * 1024;

/** The part of a QMP client the balloon needs (commands and events). */
export type BalloonQmp = Pick<QmpClient, "execute" | "onEvent">;

/** `query-balloon`: the guest's logical memory size as the balloon driver last reported it. */
export async function queryBalloonActualBytes(qmp: BalloonQmp): Promise<number> {
  const reply = await qmp.execute<{ actual?: unknown }>("query-balloon");
  if (typeof reply.actual !== "number") {
    throw new QmpProtocolError("query-balloon returned no numeric 'actual'");
  }
  return reply.actual;
}

export interface BalloonMoveOptions {
  readonly timeoutMs: number;
  /** How close `actual` must get; the driver moves in whole pages, so 0 is reachable. */
  readonly toleranceBytes?: number;
  /** Called whenever `actual` changes, e.g. for a progress line. */
  readonly onProgress?: (actualBytes: number) => void;
  /** How often query-balloon is polled besides BALLOON_CHANGE (QEMU rate-limits that event to 1/s). */
  readonly pollMs?: number;
}

export interface BalloonMove {
  readonly fromBytes: number;
  readonly targetBytes: number;
  readonly actualBytes: number;
  readonly durationMs: number;
  /** BALLOON_CHANGE events seen while moving. */
  readonly events: number;
}

/** The balloon did not reach its target in time; says how far it got. */
export class BalloonTimeoutError extends TimeoutError {
  constructor(
    readonly move: Omit<BalloonMove, "durationMs">,
    timeoutMs: number,
  ) {
    const toMiB = (b: number): string => (b / MiB).toFixed(0);
    const moved = Math.abs(move.actualBytes - move.fromBytes);
    const wanted = Math.abs(move.targetBytes - move.fromBytes);
    super(
      `balloon did not reach ${toMiB(move.targetBytes)} MiB in ${(timeoutMs / 1000).toFixed(0)} s: ` +
        `actual is ${toMiB(move.actualBytes)} MiB (from ${toMiB(move.fromBytes)} MiB, ` +
        `${wanted === 0 ? 100 : Math.round((moved / wanted) * 100)} % of the way)`,
      timeoutMs,
      {
        hint: "the guest driver may be missing or unable to free that much memory; pick a smaller inflation or a longer timeout",
      },
    );
  }
}

/**
 * Sets the balloon target (`balloon` takes the guest's desired logical size, not the balloon's
 * size) and waits until `actual` reaches it. `actual` is read with query-balloon, woken early
 * by BALLOON_CHANGE events; both are needed because the event is rate-limited and a target equal
 * to the current size produces none.
 */
export async function moveBalloon(
  qmp: BalloonQmp,
  targetBytes: number,
  options: BalloonMoveOptions,
): Promise<BalloonMove> {
  const tolerance = options.toleranceBytes ?? 0;
  const pollMs = options.pollMs ?? 200;
  const fromBytes = await queryBalloonActualBytes(qmp);
  const started = performance.now();
  let actualBytes = fromBytes;
  let events = 0;
  let wake: (() => void) | undefined;
  const unsubscribe = qmp.onEvent((event) => {
    if (event.event !== "BALLOON_CHANGE") return;
    events += 1;
    wake?.();
  });
  try {
    await qmp.execute("balloon", { value: targetBytes });
    for (;;) {
      const now = await queryBalloonActualBytes(qmp);
      if (now !== actualBytes) options.onProgress?.(now);
      actualBytes = now;
      if (Math.abs(actualBytes - targetBytes) <= tolerance) break;
      const elapsed = performance.now() - started;
      if (elapsed >= options.timeoutMs) {
        throw new BalloonTimeoutError(
          { fromBytes, targetBytes, actualBytes, events },
          options.timeoutMs,
        );
      }
      const woken = new Promise<void>((resolve) => (wake = resolve));
      await Promise.race([woken, sleep(Math.min(pollMs, options.timeoutMs - elapsed))]);
      wake = undefined;
    }
  } finally {
    unsubscribe();
  }
  return {
    fromBytes,
    targetBytes,
    actualBytes,
    durationMs: Math.round(performance.now() - started),
    events,
  };
}

/** Guest memory statistics as the driver reports them through the stats virtqueue. */
export interface GuestMemoryStats {
  /** Seconds since the epoch of the guest's last update; 0 before the first. */
  readonly lastUpdate: number;
  /** QEMU's names without the "stat-" prefix, e.g. "free-memory"; unavailable ones are left out. */
  readonly stats: Readonly<Record<string, number>>;
}

/** Parses the `guest-stats` QOM property (QEMU docs/interop/virtio-balloon-stats.rst). */
export function parseGuestMemoryStats(value: unknown): GuestMemoryStats {
  if (typeof value !== "object" || value === null) {
    throw new QmpProtocolError("guest-stats is not an object");
  }
  const record = value as { stats?: unknown; "last-update"?: unknown };
  const stats: Record<string, number> = {};
  if (typeof record.stats === "object" && record.stats !== null) {
    for (const [key, raw] of Object.entries(record.stats as Record<string, unknown>)) {
      // QEMU reports -1 for a statistic the guest has not provided.
      if (typeof raw === "number" && raw >= 0) stats[key.replace(/^stat-/, "")] = raw;
    }
  }
  const lastUpdate = typeof record["last-update"] === "number" ? record["last-update"] : 0;
  return { lastUpdate, stats };
}

/** Asks the guest driver to send statistics every `intervalS` seconds (0 turns polling off). */
export async function setGuestStatsPolling(qmp: BalloonQmp, intervalS: number): Promise<void> {
  await qmp.execute("qom-set", {
    path: BALLOON_QOM_PATH,
    property: "guest-stats-polling-interval",
    value: intervalS,
  });
}

export async function readGuestMemoryStats(qmp: BalloonQmp): Promise<GuestMemoryStats> {
  return parseGuestMemoryStats(
    await qmp.execute("qom-get", { path: BALLOON_QOM_PATH, property: "guest-stats" }),
  );
}

/**
 * Enables polling and waits for the first report newer than `since` (seconds): the driver answers
 * the stats request asynchronously, so the first read after enabling is usually empty.
 */
export async function waitForGuestMemoryStats(
  qmp: BalloonQmp,
  options: { readonly timeoutMs: number; readonly sinceS?: number },
): Promise<GuestMemoryStats> {
  const deadline = performance.now() + options.timeoutMs;
  const since = options.sinceS ?? 0;
  for (;;) {
    const stats = await readGuestMemoryStats(qmp);
    if (stats.lastUpdate > since) return stats;
    if (performance.now() >= deadline) {
      throw new TimeoutError(
        `the guest sent no balloon statistics within ${options.timeoutMs} ms`,
        options.timeoutMs,
        {
          hint: "the guest's virtio_balloon driver must be loaded and bound (bit 1, STATS_VQ, is always offered)",
        },
      );
    }
    await sleep(250);
  }
}

/** Resident set size of a process (the QEMU process: guest memory it holds on the host). */
export async function readRssBytes(pid: number): Promise<number> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, "utf8");
  } catch (error) {
    throw new BalloonBenchError(`cannot read /proc/${pid}/status: the QEMU process is gone`, {
      cause: error,
    });
  }
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match?.[1] === undefined)
    throw new BalloonBenchError(`/proc/${pid}/status has no VmRSS line`);
  return Number(match[1]) * 1024;
}

/** Parses sizes like "1536", "1536M", "1.5G", "512MiB" into bytes (plain numbers are MiB). */
export function parseSizeBytes(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:i?[bB])?\s*$/.exec(text);
  if (match?.[1] === undefined) return undefined;
  const unit = (match[2] ?? "").toUpperCase();
  const factor = unit === "K" ? 1024 : unit === "G" ? 1024 * MiB : MiB;
  const bytes = Math.round(Number(match[1]) * factor);
  return bytes % 4096 === 0 ? bytes : Math.ceil(bytes / 4096) * 4096;
}
