import { expect } from "chai";
import {
  observeRss,
  startRssSettle,
  type RssSettlePolicy,
} from "../../../src/core/protocol/rss-settle.js";

const MiB = 1024 * 1024;
const policy: RssSettlePolicy = { maxMs: 3000, quietMs: 500, minFallBytes: 2 * MiB, pollMs: 100 };

/** Feeds readings (ms since start, MiB) and returns when and why the settle ended. */
function settle(readings: readonly [number, number][], startMiB: number) {
  let state = startRssSettle(startMiB * MiB);
  for (const [ms, mib] of readings) {
    const step = observeRss(state, ms, mib * MiB, policy);
    state = step.state;
    if (step.end !== undefined)
      return { atMs: ms, end: step.end, lowestMiB: state.lowestBytes / MiB };
  }
  return undefined;
}

describe("rss-settle", () => {
  it("ends quiet once RSS has fallen and stayed for quietMs", () => {
    // Reporting starts ~1.2 s in (the guest's 2 s delay after alloc_once freed), 256 MiB given back.
    const readings: [number, number][] = [
      [100, 1000],
      [600, 1000],
      [1200, 1000],
      [1300, 900],
      [1400, 800],
      [1500, 744],
      [1600, 744],
      [1700, 744.5],
      [1900, 744],
      [2000, 744],
      [2100, 744],
    ];
    expect(settle(readings, 1000)).to.deep.equal({ atMs: 2000, end: "quiet", lowestMiB: 744 });
  });

  it("never ends quiet before RSS fell: no fall means the limit (the fixed time it replaces)", () => {
    const flat: [number, number][] = Array.from({ length: 31 }, (_, i) => [
      i * 100,
      1000 + (i % 2),
    ]);
    expect(settle(flat, 1000)).to.deep.equal({ atMs: 3000, end: "limit", lowestMiB: 1000 });
  });

  it("counts small falls once they add up, and a later wave restarts the quiet window", () => {
    const readings: [number, number][] = [
      [100, 999],
      [200, 998], // 2 MiB in 1 MiB steps: one fall, at 200
      [300, 997.5],
      [650, 990], // a second wave before quiet: the window restarts
      [1100, 990],
      [1150, 990],
    ];
    expect(settle(readings, 1000)).to.deep.equal({ atMs: 1150, end: "quiet", lowestMiB: 990 });
  });

  it("a rise (QEMU allocating) is not a fall and does not move the lowest reading", () => {
    const readings: [number, number][] = [
      [100, 990],
      [200, 1200],
      [700, 1200],
    ];
    expect(settle(readings, 1000)).to.deep.equal({ atMs: 700, end: "quiet", lowestMiB: 990 });
  });
});
