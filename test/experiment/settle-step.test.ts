import { expect } from "chai";
import type { GuestSession } from "../../src/experiment/guest-session.js";
import { settleBeforePerf } from "../../src/experiment/settle-step.js";
import { GuestCommandError } from "../../src/machine/guest/guest-errors.js";

const MiB = 1024 * 1024;

/** A session whose QEMU RSS follows `rssMiB(ms since the prepare exec)`; execs answer at once. */
function sessionWithRss(rssMiB: (ms: number) => number, exitCode = 0) {
  const execs: string[][] = [];
  let t0 = Date.now();
  const session = {
    exec: (argv: readonly string[]) => {
      execs.push([...argv]);
      t0 = Date.now();
      return Promise.resolve({
        exitCode,
        signal: undefined,
        stdout: "",
        stderr: "bb-prepare 5.00 5.02\n",
      });
    },
    hostRssBytes: () => Promise.resolve(Math.round(rssMiB(Date.now() - t0) * MiB)),
  } as unknown as GuestSession;
  return { session, execs };
}

describe("settleBeforePerf", () => {
  it("rss: waits until QEMU's RSS has fallen and gone quiet, well before the limit", async () => {
    const { session, execs } = sessionWithRss((ms) => (ms < 300 ? 1000 : 744));
    const t0 = Date.now();
    const outcome = await settleBeforePerf(session, { method: "rss", maxMs: 3000 });
    expect(Date.now() - t0).to.be.within(700, 2500);
    expect(execs[0]?.slice(3)).to.deep.equal(["bb-prepare", "none", "0"]);
    expect(outcome.record).to.include({ method: "rss", maxMs: 3000, endedBy: "quiet" });
    expect(outcome.record.waitedMs).to.be.within(700, 2500);
    expect(outcome.settleRss).to.deep.equal({ beforeBytes: 1000 * MiB, afterBytes: 744 * MiB });
    expect(outcome.prepareMs).to.equal(20 + (outcome.record.waitedMs ?? NaN));
  });

  it("rss: without a fall it waits the whole limit and says so", async () => {
    const { session } = sessionWithRss(() => 1000);
    const outcome = await settleBeforePerf(session, { method: "rss", maxMs: 400 });
    expect(outcome.record.endedBy).to.equal("limit");
    expect(outcome.record.waitedMs).to.be.at.least(400);
  });

  it("sleep and flush: the guest settles, the host records RSS before and after", async () => {
    const { session } = sessionWithRss(() => 900);
    const slept = await settleBeforePerf(session, { method: "sleep", ms: 3000 });
    expect(slept.record).to.deep.equal({ method: "sleep", sleptMs: 3000 });
    expect(slept.settleRss).to.deep.equal({ beforeBytes: 900 * MiB, afterBytes: 900 * MiB });
    expect(slept.prepareMs).to.equal(20);
    const flushed = await settleBeforePerf(session, { method: "flush", pages: 512 });
    expect(flushed.record).to.deep.equal({ method: "flush", flushPages: 512 });
  });

  it("a failing drop_caches is a GuestCommandError naming it", async () => {
    const { session } = sessionWithRss(() => 900, 90);
    const error = await settleBeforePerf(session, { method: "none" }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(GuestCommandError);
    expect(String((error as Error).message)).to.match(/drop_caches failed/);
  });
});
