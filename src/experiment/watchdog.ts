import { setTimeout as sleep } from "node:timers/promises";
import { BalloonBenchError } from "../core/errors.js";
import { QmpDisconnectedError, QmpTimeoutError } from "../machine/qmp/qmp-errors.js";
import type { GuestSession } from "./guest-session.js";

/** QEMU stopped answering QMP for longer than the plan allows: the boot is abandoned. */
export class VmHungError extends BalloonBenchError {}

export interface WatchdogOptions {
  /** How long QEMU may not answer QMP before the boot is given up. */
  readonly hangTimeoutMs: number;
  readonly pollMs?: number;
  /** A QMP answer slower than this counts as a stall of the iteration. */
  readonly stallMs?: number;
}

/** Time QEMU did not answer QMP promptly while an iteration ran: its timing is suspect. */
export interface StallRecord {
  readonly totalMs: number;
  readonly longestMs: number;
}

/**
 * Runs `work` (an iteration) while checking that QEMU answers QMP `query-status` every few
 * seconds: a QEMU that is stopped (SIGSTOP) or wedged answers nothing, which an SSH session
 * would take minutes to notice. Slow answers are recorded as stalls; no answer for
 * `hangTimeoutMs` fails the boot with VmHungError.
 */
export async function watchIteration<T>(
  session: GuestSession,
  work: Promise<T>,
  options: WatchdogOptions,
): Promise<{ value: T; stall: StallRecord | undefined }> {
  const pollMs = options.pollMs ?? 5_000;
  const stallMs = options.stallMs ?? 2_000;
  let done = false;
  let totalMs = 0;
  let longestMs = 0;
  const settled = work.finally(() => (done = true));
  settled.catch(() => undefined);
  const probe = async (): Promise<never> => {
    for (;;) {
      await sleep(pollMs, undefined, { ref: false });
      if (done) return new Promise<never>(() => undefined);
      const started = Date.now();
      let answered = false;
      while (!answered) {
        try {
          await session.qmp.execute("query-status", undefined, {
            timeoutMs: Math.min(pollMs, options.hangTimeoutMs),
          });
          answered = true;
        } catch (error) {
          if (error instanceof QmpDisconnectedError) throw error;
          if (!(error instanceof QmpTimeoutError)) throw error;
          if (done) return new Promise<never>(() => undefined);
          const silentMs = Date.now() - started;
          if (silentMs >= options.hangTimeoutMs) {
            const trouble = await session.qemuTrouble();
            throw new VmHungError(
              `QEMU did not answer QMP for ${Math.round(silentMs / 1000)} s during an iteration${trouble === undefined ? "" : ` (QEMU ${trouble})`}`,
              {
                hint: "the guest or QEMU hung (stopped, or stuck in the host kernel); see its console log, or raise hangTimeoutS in the plan",
              },
            );
          }
        }
      }
      const latency = Date.now() - started;
      if (latency >= stallMs) {
        totalMs += latency;
        longestMs = Math.max(longestMs, latency);
      }
    }
  };
  const value = await Promise.race([settled, probe()]);
  return { value, stall: totalMs === 0 ? undefined : { totalMs, longestMs } };
}
