import { parsePropertyMapOverrides } from "../../core/balloon/property-map.js";
import { renderProbeTable } from "../../core/probe/probe-report.js";
import { probeQemu } from "../../machine/probe.js";
import type { CliIo } from "../io.js";

/** `balloon-bench probe`: which balloon bits this QEMU can offer (table or stable JSON). */
export async function probeCommand(
  options: { qemu?: string; json?: boolean; map: string[] },
  io: CliIo,
): Promise<void> {
  const report = await probeQemu({
    qemu: options.qemu,
    propertyMap: parsePropertyMapOverrides(options.map),
  });
  io.stdout(
    options.json === true
      ? `${JSON.stringify(report, null, 2)}\n`
      : `${renderProbeTable(report)}\n`,
  );
}
