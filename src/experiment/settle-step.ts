import { setTimeout as sleep } from "node:timers/promises";
import {
  describeIterationFailure,
  parseGuestSpanMs,
  prepareArgv,
  type SettleMode,
} from "../core/protocol/guest-protocol.js";
import {
  RSS_SETTLE_DEFAULTS,
  observeRss,
  startRssSettle,
  type RssSettleEnd,
} from "../core/protocol/rss-settle.js";
import type { IterationTelemetry, SettleRecord } from "../core/results-format/sample.js";
import { GuestCommandError } from "../machine/guest/guest-errors.js";
import type { GuestSession } from "./guest-session.js";

export interface SettleOutcome {
  readonly record: SettleRecord;
  readonly settleRss: NonNullable<IterationTelemetry["settleRss"]>;
  /** Guest-side drop_caches plus flush or sleep, plus the host's wait for "rss". */
  readonly prepareMs: number | undefined;
}

/** Polls QEMU's RSS until it has fallen and gone quiet, or maxMs has passed. */
async function waitForRssQuiet(
  session: GuestSession,
  startBytes: number,
  maxMs: number,
): Promise<{ waitedMs: number; endedBy: RssSettleEnd; afterBytes: number }> {
  const policy = { ...RSS_SETTLE_DEFAULTS, maxMs };
  const t0 = Date.now();
  let state = startRssSettle(startBytes);
  for (;;) {
    await sleep(policy.pollMs);
    const rssBytes = await session.hostRssBytes();
    const elapsedMs = Date.now() - t0;
    const step = observeRss(state, elapsedMs, rssBytes, policy);
    state = step.state;
    if (step.end !== undefined)
      return { waitedMs: elapsedMs, endedBy: step.end, afterBytes: rssBytes };
  }
}

/**
 * bench.sh's steps before perf: drop caches, then the flush, a fixed sleep, or (rss) the host's
 * wait for QEMU's RSS to stop falling. QEMU's RSS before and after is the evidence that free
 * page reporting gave memory back.
 */
export async function settleBeforePerf(
  session: GuestSession,
  settle: SettleMode,
): Promise<SettleOutcome> {
  const beforeBytes = await session.hostRssBytes();
  // The guest's own sleep, plus a minute for drop_caches and the flush.
  const timeoutMs = (settle.method === "sleep" ? settle.ms : 0) + 60_000;
  const result = await session.exec(prepareArgv(settle), { timeoutMs });
  if (result.exitCode !== 0) {
    throw new GuestCommandError(
      ["sh", "-c", "(drop caches, flush or settle)"],
      result.exitCode,
      result.signal,
      describeIterationFailure(result.exitCode) ?? result.stderr,
    );
  }
  const guestMs = parseGuestSpanMs(result.stderr, "prepare");
  if (settle.method !== "rss") {
    const afterBytes = await session.hostRssBytes();
    const record: SettleRecord =
      settle.method === "flush"
        ? { method: "flush", flushPages: settle.pages }
        : settle.method === "sleep"
          ? { method: "sleep", sleptMs: settle.ms }
          : { method: "none" };
    return { record, settleRss: { beforeBytes, afterBytes }, prepareMs: guestMs };
  }
  const waited = await waitForRssQuiet(session, beforeBytes, settle.maxMs);
  return {
    record: {
      method: "rss",
      waitedMs: waited.waitedMs,
      maxMs: settle.maxMs,
      endedBy: waited.endedBy,
    },
    settleRss: { beforeBytes, afterBytes: waited.afterBytes },
    prepareMs: guestMs === undefined ? undefined : guestMs + waited.waitedMs,
  };
}
