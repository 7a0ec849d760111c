import { UsageError } from "../errors.js";
import { BALLOON_FEATURE_BITS } from "./feature-bits.js";

/**
 * Default map from feature bit to the virtio-balloon-pci property that makes QEMU offer it.
 * Bits 0 and 1 have no property: QEMU never offers MUST_TELL_HOST and always offers STATS_VQ.
 * Bits 6 and 7 use the names of the QEMU tree that carries the device side of the Linux
 * series (its qtest): they are not merged upstream yet, hence overridable.
 */
export const DEFAULT_PROPERTY_MAP: ReadonlyMap<number, string> = new Map([
  [2, "deflate-on-oom"],
  [3, "free-page-hint"],
  [4, "page-poison"],
  [5, "free-page-reporting"],
  [6, "x-device-init-reported"],
  [7, "device-init-on-inflate"],
]);

const PROPERTY_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/**
 * Parses `BIT=PROPERTY` overrides (e.g. "6=x-device-init-reported") on top of the default map.
 * `BIT=` (empty property) removes the mapping.
 */
export function parsePropertyMapOverrides(
  entries: readonly string[],
  base: ReadonlyMap<number, string> = DEFAULT_PROPERTY_MAP,
): Map<number, string> {
  const map = new Map(base);
  for (const entry of entries) {
    const match = /^\s*(\d+)\s*=\s*(.*?)\s*$/.exec(entry);
    if (match === null) {
      throw new UsageError(`malformed property map entry '${entry}'`, {
        hint: "write BIT=PROPERTY, e.g. --map 6=x-device-init-reported",
      });
    }
    const bit = Number(match[1]);
    const property = match[2] ?? "";
    if (bit >= BALLOON_FEATURE_BITS.length) {
      throw new UsageError(`property map entry '${entry}' names bit ${bit}`, {
        hint: "balloon feature bits are 0 to 7",
      });
    }
    if (property === "") {
      map.delete(bit);
      continue;
    }
    if (!PROPERTY_NAME.test(property)) {
      throw new UsageError(`property map entry '${entry}' has an invalid property name`, {
        hint: "QEMU property names are letters, digits, '-', '_' and '.'",
      });
    }
    map.set(bit, property);
  }
  return map;
}
