import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

/** What guest-init prints on the serial console once sshd listens and the guest is set up. */
export const SSHD_READY_MARKER = "balloon-bench: sshd ready";

export type ConsoleWaitOutcome = "seen" | "timeout" | "gave-up";

/**
 * Polls a console log until `marker` appears, `shouldGiveUp` says stop (QEMU exited), or the time
 * runs out. Waiting for the marker before SSH keeps failed handshakes from competing with the
 * booting guest for the emulated CPUs.
 */
export async function waitForConsoleMarker(
  consolePath: string,
  marker: string,
  options: { timeoutMs: number; pollMs?: number; shouldGiveUp?: () => boolean },
): Promise<ConsoleWaitOutcome> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    const text = await readFile(consolePath, "utf8").catch(() => "");
    if (text.includes(marker)) return "seen";
    if (options.shouldGiveUp?.() === true) return "gave-up";
    await sleep(options.pollMs ?? 50);
  }
  return "timeout";
}
