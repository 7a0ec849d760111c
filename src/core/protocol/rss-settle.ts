/**
 * Pure: when a settle on the host may end. Free page reporting gives memory back to the host
 * after the guest frees it (Linux waits 2 s, PAGE_REPORTING_DELAY, before it reports), and QEMU
 * discards each reported range at once, so QEMU's RSS falls and then stays. The settle ends
 * once RSS has fallen by at least `minFallBytes` and not fallen further for `quietMs`, or at
 * `maxMs` (the plan's settle time: never longer than the fixed sleep it replaces).
 */

export interface RssSettlePolicy {
  readonly maxMs: number;
  readonly quietMs: number;
  /** A fall smaller than this is noise (QEMU's own allocations move by a few pages). */
  readonly minFallBytes: number;
  readonly pollMs: number;
}

/** 2 MiB: the smallest block x86 reports (pageblock order 9). */
export const RSS_SETTLE_DEFAULTS: Omit<RssSettlePolicy, "maxMs"> = {
  quietMs: 500,
  minFallBytes: 2 * 1024 * 1024,
  pollMs: 100,
};

export interface RssSettleState {
  readonly startBytes: number;
  readonly lowestBytes: number;
  /** When RSS last fell by minFallBytes or more below the lowest seen (ms since the start). */
  readonly lastFallAtMs: number | undefined;
}

export type RssSettleEnd = "quiet" | "limit";

export function startRssSettle(startBytes: number): RssSettleState {
  return { startBytes, lowestBytes: startBytes, lastFallAtMs: undefined };
}

/** One reading `elapsedMs` after the start: the new state, and why the settle ends (if it does). */
export function observeRss(
  state: RssSettleState,
  elapsedMs: number,
  rssBytes: number,
  policy: RssSettlePolicy,
): { state: RssSettleState; end?: RssSettleEnd } {
  const fell = rssBytes <= state.lowestBytes - policy.minFallBytes;
  const next: RssSettleState = fell
    ? { ...state, lowestBytes: rssBytes, lastFallAtMs: elapsedMs }
    : state;
  if (next.lastFallAtMs !== undefined && elapsedMs - next.lastFallAtMs >= policy.quietMs) {
    return { state: next, end: "quiet" };
  }
  if (elapsedMs >= policy.maxMs) return { state: next, end: "limit" };
  return { state: next };
}
