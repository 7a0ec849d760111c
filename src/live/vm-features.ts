import { decodeSysfsFeatureString, decodeVirtioStatus } from "../core/balloon/device-features.js";
import { BALLOON_FEATURE_BITS, specName } from "../core/balloon/feature-bits.js";
import type { GuestSsh } from "../machine/guest/guest-ssh.js";
import { BALLOON_VIRTIO_PATH } from "../core/balloon/balloon-device.js";
import type { QmpClient } from "../machine/qmp/qmp-client.js";

export interface LiveFeatures {
  /** Bits asked for with `up --features`. */
  readonly requested: readonly number[];
  /** Offered by the device (QMP x-query-virtio-status host-features). */
  readonly offered: readonly number[];
  /** Negotiated, as QEMU sees it (guest-features). */
  readonly negotiatedQmp: readonly number[];
  /** Negotiated, as the guest driver reports it (sysfs features string), or null without a driver. */
  readonly negotiatedSysfs: readonly number[] | null;
  readonly sysfsString: string | null;
}

/** Prints the balloon device's features string from the guest's sysfs (empty without one). */
const SYSFS_FEATURES_SCRIPT = [
  "for d in /sys/bus/virtio/devices/*; do",
  '  read id <"$d/device"',
  '  [ "$id" = 0x0005 ] && read f <"$d/features" && echo "$f"',
  "done",
  "true",
].join("\n");

export async function readLiveFeatures(
  qmp: QmpClient,
  ssh: GuestSsh | undefined,
  requested: readonly number[],
): Promise<LiveFeatures> {
  const status = decodeVirtioStatus(
    await qmp.execute("x-query-virtio-status", { path: BALLOON_VIRTIO_PATH }),
  );
  const sysfs = ssh === undefined ? "" : (await ssh.execShell(SYSFS_FEATURES_SCRIPT)).stdout.trim();
  return {
    requested: [...requested],
    offered: status.offered.balloonBits,
    negotiatedQmp: status.negotiated.balloonBits,
    negotiatedSysfs: sysfs === "" ? null : decodeSysfsFeatureString(sysfs),
    sysfsString: sysfs === "" ? null : sysfs,
  };
}

export function renderLiveFeatures(name: string, features: LiveFeatures): string {
  const list = (bits: readonly number[] | null): string =>
    bits === null ? "unknown (no balloon driver bound)" : bits.join(", ") || "none";
  const mark = (bits: readonly number[] | null, bit: number): string =>
    bits === null ? "?" : bits.includes(bit) ? "yes" : "-";
  const lines = [
    `VM ${name}: virtio-balloon feature bits`,
    `  requested:   ${list(features.requested)}`,
    `  offered:     ${list(features.offered)}   (device, QMP x-query-virtio-status)`,
    `  negotiated:  ${list(features.negotiatedQmp)}   (QMP; guest sysfs: ${list(features.negotiatedSysfs)})`,
    "",
    "bit  name                                    requested  offered  negotiated",
  ];
  for (const entry of BALLOON_FEATURE_BITS) {
    lines.push(
      [
        String(entry.bit).padEnd(3),
        specName(entry.bit).padEnd(38),
        mark(features.requested, entry.bit).padEnd(9),
        mark(features.offered, entry.bit).padEnd(7),
        mark(features.negotiatedQmp, entry.bit),
      ].join("  "),
    );
  }
  for (const bit of features.requested) {
    if (!features.offered.includes(bit))
      lines.push(`warning: bit ${bit} was requested but the device does not offer it`);
    else if (!features.negotiatedQmp.includes(bit))
      lines.push(`warning: bit ${bit} is offered but the guest driver did not negotiate it`);
  }
  return lines.join("\n");
}
