import { BALLOON_FEATURE_BITS, SPEC_PREFIX } from "../balloon/feature-bits.js";

export interface ProbeBit {
  readonly bit: number;
  /** Spec names with the VIRTIO_BALLOON_F_ prefix; the spec's own name first. */
  readonly names: readonly string[];
  /** The virtio-balloon-pci property mapped to this bit, or null when no property controls it. */
  readonly property: string | null;
  readonly hasProperty: boolean;
  /** Whether a device created with the property on really offered the bit (read over QMP). */
  readonly offered: boolean;
  readonly reason: string;
}

export interface ProbeReport {
  readonly qemu: { readonly path: string; readonly version: string };
  readonly bits: readonly ProbeBit[];
}

export interface ProbeFacts {
  readonly qemu: { readonly path: string; readonly version: string };
  readonly availableProperties: ReadonlySet<string>;
  readonly propertyMap: ReadonlyMap<number, string>;
  /** Bits the device offered with every available mapped property on; undefined if it failed. */
  readonly offeredBits: ReadonlySet<number> | undefined;
  /** Why the device could not be created, when it could not. */
  readonly deviceError?: string | undefined;
}

/** Pure: turns what was read from QEMU into the per-bit report. */
export function assembleProbeReport(facts: ProbeFacts): ProbeReport {
  const bits = BALLOON_FEATURE_BITS.map((entry): ProbeBit => {
    const property = facts.propertyMap.get(entry.bit) ?? null;
    const hasProperty = property !== null && facts.availableProperties.has(property);
    const offered =
      hasProperty || property === null ? (facts.offeredBits?.has(entry.bit) ?? false) : false;
    return {
      bit: entry.bit,
      names: entry.names.map((n) => SPEC_PREFIX + n),
      property,
      hasProperty,
      offered,
      reason: explain(entry.bit, property, hasProperty, offered, facts),
    };
  });
  return { qemu: { path: facts.qemu.path, version: facts.qemu.version }, bits };
}

function explain(
  bit: number,
  property: string | null,
  hasProperty: boolean,
  offered: boolean,
  facts: ProbeFacts,
): string {
  if (property === null) {
    return offered
      ? "offered by QEMU unconditionally (no property controls it)"
      : "not offered by this QEMU, and no property is mapped to it";
  }
  if (!hasProperty) {
    return `virtio-balloon-pci in QEMU ${facts.qemu.version} has no '${property}' property, so it cannot offer bit ${bit}; use a QEMU that implements it (--qemu PATH), or map the bit to the property your QEMU uses (--map ${bit}=PROPERTY)`;
  }
  if (facts.offeredBits === undefined) {
    return `QEMU has '${property}' but a device with it on could not be created: ${facts.deviceError ?? "unknown error"}`;
  }
  return offered
    ? `offered when ${property}=on`
    : `QEMU has '${property}', but a device with ${property}=on did not offer bit ${bit}`;
}

/** The probe as a terminal table. */
export function renderProbeTable(report: ProbeReport): string {
  const header = ["bit", "name", "property", "has property", "offered", "why"];
  const rows = report.bits.map((b) => [
    String(b.bit),
    (b.names[0] ?? "").replace(SPEC_PREFIX, ""),
    b.property ?? "-",
    b.property === null ? "-" : b.hasProperty ? "yes" : "no",
    b.offered ? "yes" : "no",
    b.reason,
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.slice(0).map((r) => (i === 5 ? 0 : (r[i] ?? "").length))),
  );
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [
    `QEMU ${report.qemu.path} (version ${report.qemu.version})`,
    line(header),
    ...rows.map(line),
  ].join("\n");
}
