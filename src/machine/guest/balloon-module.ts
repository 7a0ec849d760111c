import { setTimeout as sleep } from "node:timers/promises";
import { UsageError } from "../../core/errors.js";
import {
  GUEST_BALLOON_MODULE,
  GUEST_FACTS_SCRIPT,
  parseGuestFacts,
  type GuestFacts,
} from "../../core/protocol/guest-protocol.js";
import { GuestCommandError } from "./guest-errors.js";
import type { ExecResult } from "./guest-ssh.js";

/** What replacing the guest's balloon driver needs of an SSH session (run's and up's alike). */
export interface ModuleSession {
  exec(argv: readonly string[]): Promise<ExecResult>;
  shell(script: string): Promise<ExecResult>;
  upload(path: string, data: Buffer, mode: number): Promise<void>;
}

/** Runs argv in the guest; a non-zero exit is a GuestCommandError. */
export async function runInGuest(session: ModuleSession, argv: readonly string[]): Promise<void> {
  const result = await session.exec(argv);
  if (result.exitCode !== 0)
    throw new GuestCommandError(argv, result.exitCode, result.signal, result.stderr);
}

/** The guest's facts (the script also creates the work directory uploads go to). */
export async function readGuestFacts(session: ModuleSession): Promise<GuestFacts> {
  return parseGuestFacts((await session.shell(GUEST_FACTS_SCRIPT)).stdout);
}

/**
 * bench.sh's `rmmod virtio_balloon; insmod virtio_balloon.ko` with a user's module: refused in
 * one line when the balloon is bound to another driver or built in. Returns the facts after,
 * when the new driver has bound (and negotiated its features).
 */
export async function replaceBalloonModule(
  session: ModuleSession,
  facts: GuestFacts,
  module: Buffer,
): Promise<GuestFacts> {
  if (facts.balloonDriver !== undefined && facts.balloonDriver !== "virtio_balloon") {
    throw new UsageError(`the guest's balloon is bound to '${facts.balloonDriver}'`, {
      hint: "drop the balloon module",
    });
  }
  await session.upload(GUEST_BALLOON_MODULE, module, 0o644);
  const removed = await session.exec(["rmmod", "virtio_balloon"]);
  if (removed.exitCode !== 0 && /builtin|built-in/i.test(removed.stderr)) {
    throw new UsageError(
      `kernel ${facts.unameR} has virtio_balloon built in, so a balloon module cannot replace it`,
      { hint: "build the kernel with CONFIG_VIRTIO_BALLOON=m, or drop the balloon module" },
    );
  }
  await runInGuest(session, ["insmod", GUEST_BALLOON_MODULE]);
  // The driver negotiates features when it binds; give sysfs a moment to show the device.
  await sleep(200);
  return readGuestFacts(session);
}
