import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import type { GuestSession } from "../../src/experiment/guest-session.js";
import { VmHungError, watchIteration } from "../../src/experiment/watchdog.js";
import { QmpDisconnectedError, QmpTimeoutError } from "../../src/machine/qmp/qmp-errors.js";

/**
 * A session whose QMP answers `query-status` after `silentMs()` (Infinity: never), honouring the
 * command's timeout as the real client does: the fault a SIGSTOPped QEMU presents.
 */
function sessionAnswering(silentMs: () => number, trouble?: string): GuestSession {
  const qmp = {
    execute: async (_command: string, _args: unknown, options?: { timeoutMs?: number }) => {
      const timeoutMs = options?.timeoutMs ?? 1_000;
      const delayMs = silentMs();
      if (delayMs > timeoutMs) {
        await sleep(timeoutMs);
        throw new QmpTimeoutError(`QMP command 'query-status' got no reply`, timeoutMs);
      }
      await sleep(delayMs);
      return { status: "running", running: true };
    },
  };
  return {
    qmp,
    qemuTrouble: () => Promise.resolve(trouble),
  } as unknown as GuestSession;
}

describe("watchIteration", () => {
  it("returns the work's value and no stall when QEMU answers promptly", async () => {
    const session = sessionAnswering(() => 1);
    const { value, stall } = await watchIteration(
      session,
      sleep(120).then(() => 42),
      {
        hangTimeoutMs: 1_000,
        pollMs: 20,
        stallMs: 50,
      },
    );
    expect(value).to.equal(42);
    expect(stall).to.equal(undefined);
  });

  it("records a stall when QEMU answers late (stopped for a while, then continued)", async () => {
    let calls = 0;
    const stopUntil = Date.now() + 800;
    const session = sessionAnswering(() => {
      calls += 1;
      return Math.max(1, stopUntil - Date.now());
    });
    const { stall } = await watchIteration(session, sleep(1_200), {
      hangTimeoutMs: 5_000,
      pollMs: 20,
      stallMs: 100,
    });
    expect(calls).to.be.greaterThan(1);
    expect(stall?.longestMs).to.be.within(300, 2_500);
    expect(stall?.totalMs).to.be.at.least(stall?.longestMs ?? Infinity);
  });

  it("keeps asking through QMP timeouts: a stall longer than one poll is one stall", async () => {
    const stopUntil = Date.now() + 800;
    const session = sessionAnswering(() => (Date.now() < stopUntil ? Infinity : 1));
    const { stall } = await watchIteration(session, sleep(1_200), {
      hangTimeoutMs: 5_000,
      pollMs: 40,
      stallMs: 100,
    });
    expect(stall?.longestMs).to.be.within(300, 2_500);
  });

  it("fails with VmHungError, saying what QEMU is doing, once QEMU is silent for the hang timeout", async () => {
    const session = sessionAnswering(() => Infinity, "stopped (SIGSTOP or a debugger)");
    const started = Date.now();
    let caught: unknown;
    try {
      await watchIteration(session, new Promise(() => undefined), {
        hangTimeoutMs: 200,
        pollMs: 20,
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(VmHungError);
    expect((caught as Error).message).to.match(
      /^QEMU did not answer QMP for 0 s during an iteration \(QEMU stopped \(SIGSTOP or a debugger\)\)$/,
    );
    expect(Date.now() - started).to.be.below(3_000);
  });

  it("passes on a lost QMP connection at once (QEMU died)", async () => {
    const session = {
      qmp: { execute: () => Promise.reject(new QmpDisconnectedError("QMP connection closed")) },
      qemuTrouble: () => Promise.resolve(undefined),
    } as unknown as GuestSession;
    let caught: unknown;
    try {
      await watchIteration(session, new Promise(() => undefined), {
        hangTimeoutMs: 1_000,
        pollMs: 10,
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(QmpDisconnectedError);
  });

  it("the work's own failure wins over the watchdog", async () => {
    const session = sessionAnswering(() => 1);
    let caught: unknown;
    try {
      await watchIteration(
        session,
        sleep(30).then(() => Promise.reject(new Error("perf failed"))),
        {
          hangTimeoutMs: 1_000,
          pollMs: 10,
        },
      );
    } catch (error) {
      caught = error;
    }
    expect((caught as Error).message).to.equal("perf failed");
  });
});
