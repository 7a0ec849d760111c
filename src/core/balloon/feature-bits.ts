import { UsageError } from "../errors.js";

/**
 * virtio-balloon feature bits 0-7 (virtio spec, "Memory Balloon Device / Feature bits").
 * Bit 5 is PAGE_REPORTING in the spec and REPORTING in Linux and QEMU; bit 7 is
 * DEVICE_INIT_DEFLATED in the spec patch and DEVICE_INIT_ON_INFLATE in the Linux series.
 */
export interface BalloonFeatureBit {
  readonly bit: number;
  /** Every name the bit answers to, spec name first, without the VIRTIO_BALLOON_F_ prefix. */
  readonly names: readonly string[];
  readonly summary: string;
  /** Bits that must also be negotiated for this one to be (spec driver-normative text). */
  readonly requires: readonly number[];
}

export const BALLOON_FEATURE_BITS: readonly BalloonFeatureBit[] = [
  {
    bit: 0,
    names: ["MUST_TELL_HOST"],
    summary: "host must be told before pages are used",
    requires: [],
  },
  { bit: 1, names: ["STATS_VQ"], summary: "guest memory statistics virtqueue", requires: [] },
  { bit: 2, names: ["DEFLATE_ON_OOM"], summary: "deflate the balloon on guest OOM", requires: [] },
  { bit: 3, names: ["FREE_PAGE_HINT"], summary: "free page hinting virtqueue", requires: [] },
  { bit: 4, names: ["PAGE_POISON"], summary: "guest page poisoning value", requires: [] },
  {
    bit: 5,
    names: ["PAGE_REPORTING", "REPORTING", "FREE_PAGE_REPORTING"],
    summary: "free page reporting virtqueue",
    requires: [],
  },
  {
    bit: 6,
    names: ["DEVICE_INIT_REPORTED"],
    summary: "device initializes (zeroes) reported pages",
    // "The driver MUST NOT negotiate VIRTIO_BALLOON_F_DEVICE_INIT_REPORTED unless it also
    // negotiates VIRTIO_BALLOON_F_PAGE_REPORTING."
    requires: [5],
  },
  {
    bit: 7,
    names: ["DEVICE_INIT_DEFLATED", "DEVICE_INIT_ON_INFLATE"],
    summary: "device initializes (zeroes) deflated pages",
    requires: [],
  },
];

export const SPEC_PREFIX = "VIRTIO_BALLOON_F_";

export function featureBit(bit: number): BalloonFeatureBit {
  const entry = BALLOON_FEATURE_BITS[bit];
  if (entry === undefined)
    throw new UsageError(`unknown balloon feature bit ${bit}`, {
      hint: "use a bit number from 0 to 7",
    });
  return entry;
}

/** The spec name of a bit with its prefix, e.g. VIRTIO_BALLOON_F_DEVICE_INIT_REPORTED. */
export function specName(bit: number): string {
  return SPEC_PREFIX + (featureBit(bit).names[0] ?? "");
}

function normalizeName(name: string): string {
  return name
    .trim()
    .toUpperCase()
    .replace(/-/g, "_")
    .replace(new RegExp(`^${SPEC_PREFIX}`), "");
}

/**
 * Resolves a user-supplied feature name to its bit: a number (0-7), any spec or Linux name
 * with or without the VIRTIO_BALLOON_F_ prefix (case and `-`/`_` insensitive), or a QEMU
 * property name from the given bit → property map.
 */
export function resolveFeatureName(
  name: string,
  propertyMap: ReadonlyMap<number, string> = new Map(),
): number {
  const trimmed = name.trim();
  if (/^\d+$/.test(trimmed)) {
    const bit = Number(trimmed);
    if (bit >= 0 && bit < BALLOON_FEATURE_BITS.length) return bit;
    throw new UsageError(`unknown balloon feature bit ${trimmed}`, {
      hint: "use a bit number from 0 to 7",
    });
  }
  const wanted = normalizeName(trimmed);
  for (const entry of BALLOON_FEATURE_BITS) {
    if (entry.names.some((n) => n === wanted)) return entry.bit;
  }
  for (const [bit, property] of propertyMap) {
    if (normalizeName(property) === wanted) return bit;
  }
  const known = BALLOON_FEATURE_BITS.map((e) => e.names[0]?.toLowerCase().replace(/_/g, "-"));
  throw new UsageError(`unknown balloon feature '${trimmed}'`, {
    hint: `use a bit number 0-7 or a name such as ${known.join(", ")}`,
  });
}

/** Parses a comma-separated feature list ("5,6", "reporting,device-init-reported") into sorted bits. */
export function parseFeatureList(
  list: string,
  propertyMap?: ReadonlyMap<number, string>,
): number[] {
  const parts = list
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const bits = new Set(parts.map((p) => resolveFeatureName(p, propertyMap)));
  return [...bits].sort((a, b) => a - b);
}

export interface DependencyProblem {
  readonly bit: number;
  readonly missing: number;
  readonly message: string;
}

/** Spec dependencies between the requested bits (bit 6 needs bit 5). */
export function checkFeatureDependencies(bits: readonly number[]): DependencyProblem[] {
  const set = new Set(bits);
  const problems: DependencyProblem[] = [];
  for (const bit of bits) {
    for (const missing of featureBit(bit).requires) {
      if (!set.has(missing)) {
        problems.push({
          bit,
          missing,
          message: `bit ${bit} (${specName(bit)}) requires bit ${missing} (${specName(missing)})`,
        });
      }
    }
  }
  return problems;
}

/** Throws a UsageError naming the first spec dependency the requested bits break. */
export function assertFeatureDependencies(bits: readonly number[]): void {
  const [first] = checkFeatureDependencies(bits);
  if (first !== undefined) {
    throw new UsageError(first.message, { hint: `add bit ${first.missing} to the feature set` });
  }
}
