import { readdir, stat } from "node:fs/promises";
import { UsageError } from "../core/errors.js";
import { ResultsDir } from "./results-dir.js";
import type { SampleCounter } from "../core/results-format/sample.js";
import type { CellData } from "../core/compare/compare-model.js";

interface ManifestCell {
  id: string;
  status?: string;
  kernel?: { name?: string };
  config?: { name?: string };
  workload?: string;
  features?: { requested?: number[]; negotiatedSysfs?: number[] };
  imported?: { accelerator?: string };
}

interface Manifest {
  accelerator?: { used?: string };
  qemu?: { version?: string };
  host?: { cpuModel?: string };
  cells?: ManifestCell[];
}

/** Reads every cell with samples from the given results directories (I/O at the edge). */
export async function loadCells(dirs: readonly string[]): Promise<CellData[]> {
  if (dirs.length === 0)
    throw new UsageError("compare needs at least one results directory", {
      hint: "balloon-bench compare DIR...",
    });
  const cells: CellData[] = [];
  for (const dir of dirs) {
    const info = await stat(dir).catch(() => undefined);
    if (info === undefined || !info.isDirectory()) {
      throw new UsageError(`${dir} is not a directory`, {
        hint: "pass results directories written by run or import",
      });
    }
    if ((await readdir(dir)).length === 0)
      throw new UsageError(`results directory ${dir} is empty`, {
        hint: "run `balloon-bench run --out DIR` first",
      });
    const results = await ResultsDir.open(dir);
    const manifest = await results.readManifest<Manifest>();
    for (const cell of manifest.cells ?? []) {
      const samples = await results.readSamples(cell.id);
      if (samples.length === 0) continue;
      const requested = cell.features?.requested ?? [];
      const negotiated = cell.features?.negotiatedSysfs;
      cells.push({
        source: dir,
        id: cell.id,
        kernel: cell.kernel?.name ?? samples[0]?.kernel ?? "unknown",
        config: cell.config?.name ?? samples[0]?.config ?? "unknown",
        workload: cell.workload ?? samples[0]?.workload ?? "unknown",
        samples,
        environment: {
          accelerator: manifest.accelerator?.used ?? cell.imported?.accelerator ?? "unknown",
          qemuVersion: manifest.qemu?.version ?? "unknown",
          cpuModel: manifest.host?.cpuModel ?? "unknown",
        },
        unnegotiatedBits:
          negotiated === undefined ? [] : requested.filter((bit) => !negotiated.includes(bit)),
      });
    }
  }
  return cells;
}

/**
 * Pure: adds the /proc/vmstat deltas `run` recorded per iteration as metrics named
 * "vmstat.FIELD", for the fields asked for (they are opt-in: every metric compared tightens the
 * multiple-comparison correction of the others).
 */
export function withVmstatMetrics(
  cells: readonly CellData[],
  fields: readonly string[],
): CellData[] {
  if (fields.length === 0) return [...cells];
  return cells.map((cell) => ({
    ...cell,
    samples: cell.samples.map((sample) => {
      const deltas = sample.telemetry?.vmstatDeltas;
      if (deltas === undefined) return sample;
      const extra: Record<string, SampleCounter> = {};
      for (const field of fields) {
        const value = deltas[field];
        if (value !== undefined) extra[`vmstat.${field}`] = { status: "counted", value, unit: "" };
      }
      return { ...sample, counters: { ...sample.counters, ...extra } };
    }),
  }));
}
