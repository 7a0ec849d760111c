import { decodeSysfsFeatureString, decodeVirtioStatus } from "../core/balloon/device-features.js";
import { BALLOON_VIRTIO_PATH } from "../core/balloon/balloon-device.js";
import { featureFindings } from "../core/balloon/feature-findings.js";
import { GUEST_ALLOC_ONCE, type GuestFacts } from "../core/protocol/guest-protocol.js";
import type { FeaturesRecord, GuestRecord } from "../core/results-format/manifest.js";
import {
  readGuestFacts,
  replaceBalloonModule,
  runInGuest,
} from "../machine/guest/balloon-module.js";
import type { GuestSession } from "./guest-session.js";
import type { RunReporter } from "./run-reporter.js";

/** What the guest needs before a boot measures: uploads, the balloon module, the feature check. */
interface SetUpContext {
  readonly allocOnce: Buffer;
  readonly balloonModule: Buffer | undefined;
}

/** Uploads alloc_once (and a user's virtio_balloon.ko, as bench.sh does) and reads the guest's facts. */
export async function setUpGuest(session: GuestSession, ctx: SetUpContext): Promise<GuestFacts> {
  const facts = await readGuestFacts(session);
  await session.upload(GUEST_ALLOC_ONCE, ctx.allocOnce, 0o755);
  if (ctx.balloonModule === undefined) return facts;
  return replaceBalloonModule(session, facts, ctx.balloonModule);
}

/** Runs argv in the guest; a non-zero exit is a GuestCommandError. */
export const run = runInGuest;

/**
 * Requested bits, bits the device offers (QMP) and bits the driver negotiated (QMP and sysfs).
 * A requested bit that was not negotiated is a finding, in words, not a failure.
 */
export async function verifyFeatures(
  session: GuestSession,
  facts: GuestFacts,
  kernel: string,
  requested: readonly number[],
  reporter: RunReporter,
): Promise<FeaturesRecord> {
  const status = await session.qmp.execute("x-query-virtio-status", { path: BALLOON_VIRTIO_PATH });
  const decoded = decodeVirtioStatus(status);
  const negotiatedSysfs = decodeSysfsFeatureString(facts.balloonFeatures ?? "");
  const findings = featureFindings(requested, decoded.offered.balloonBits, negotiatedSysfs, kernel);
  for (const finding of findings) reporter.log(`warning: ${finding}`);
  reporter.log(
    `guest: ${facts.unameR}; balloon bits offered ${decoded.offered.balloonBits.join(",") || "none"}, negotiated ${negotiatedSysfs.join(",") || "none"} (requested ${requested.join(",") || "none"})`,
  );
  return {
    requested: [...requested],
    offered: [...decoded.offered.balloonBits],
    negotiatedQmp: [...decoded.negotiated.balloonBits],
    negotiatedSysfs,
    sysfsString: facts.balloonFeatures ?? null,
    verified: findings.length === 0,
    findings,
  };
}

export function guestRecord(facts: GuestFacts): GuestRecord {
  return {
    unameR: facts.unameR,
    thp: facts.thp,
    memTotalKiB: facts.memTotalKiB,
    perf: facts.perfVersion,
    ...(facts.balloonDriver === undefined ? {} : { balloonDriver: facts.balloonDriver }),
    hasFlush: facts.hasFlush,
  };
}
