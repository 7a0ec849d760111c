import { BALLOON_FEATURE_BITS, SPEC_PREFIX } from "./feature-bits.js";

/** The decoded feature set of one side (host = offered, guest = negotiated) of x-query-virtio-status. */
export interface DecodedFeatures {
  /** Balloon feature bits 0-7 that are set. */
  readonly balloonBits: readonly number[];
  /** Everything QEMU named, verbatim (device and transport features), for the record. */
  readonly names: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const NAME_TO_BIT = new Map<string, number>(
  BALLOON_FEATURE_BITS.flatMap((entry) =>
    entry.names.map((name): [string, number] => [SPEC_PREFIX + name, entry.bit]),
  ),
);

/**
 * Decodes one `*-features` member of x-query-virtio-status (QEMU >= 7.2). QEMU names the bits it
 * knows ("VIRTIO_BALLOON_F_REPORTING: Page reporting VQ enabled") and folds the ones it cannot
 * name into `unknown-dev-features`, a number: a QEMU that offers bits 6/7 without naming them
 * shows them there.
 */
export function decodeVirtioFeatures(features: unknown): DecodedFeatures {
  if (!isRecord(features)) return { balloonBits: [], names: [] };
  const bits = new Set<number>();
  const names: string[] = [];
  for (const key of ["dev-features", "transports"]) {
    const list = features[key];
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      if (typeof item !== "string") continue;
      const name = item.split(":")[0]?.trim() ?? "";
      names.push(name);
      const bit = NAME_TO_BIT.get(name);
      if (bit !== undefined) bits.add(bit);
    }
  }
  const unknown = features["unknown-dev-features"];
  if (typeof unknown === "number") {
    // Only the low byte is balloon-specific; higher unknown bits are transport or reserved.
    for (let bit = 0; bit < BALLOON_FEATURE_BITS.length; bit++) {
      if (Math.floor(unknown / 2 ** bit) % 2 === 1) bits.add(bit);
    }
  }
  return { balloonBits: [...bits].sort((a, b) => a - b), names };
}

/** Offered (host) and negotiated (guest) balloon bits from an x-query-virtio-status reply. */
export function decodeVirtioStatus(status: unknown): {
  offered: DecodedFeatures;
  negotiated: DecodedFeatures;
} {
  const record = isRecord(status) ? status : {};
  return {
    offered: decodeVirtioFeatures(record["host-features"]),
    negotiated: decodeVirtioFeatures(record["guest-features"]),
  };
}

/**
 * Decodes the guest's /sys/bus/virtio/devices/virtioN/features: one '0'/'1' character per
 * feature bit, character i = bit i. Returns the balloon bits (0-7) that are set.
 */
export function decodeSysfsFeatureString(features: string): number[] {
  const text = features.trim();
  const bits: number[] = [];
  for (let bit = 0; bit < Math.min(text.length, BALLOON_FEATURE_BITS.length); bit++) {
    if (text[bit] === "1") bits.push(bit);
  }
  return bits;
}
