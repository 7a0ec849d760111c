import { UsageError } from "../core/errors.js";
import type { CellData } from "../core/compare/compare-model.js";
import { cellViews } from "../core/results-format/manifest.js";
import { ResultsDir } from "./results-dir.js";

/** Reads every cell with samples from the given results directories (I/O at the edge). */
export async function loadCells(dirs: readonly string[]): Promise<CellData[]> {
  if (dirs.length === 0)
    throw new UsageError("compare needs at least one results directory", {
      hint: "balloon-bench compare DIR...",
    });
  const cells: CellData[] = [];
  for (const dir of dirs) {
    const results = await ResultsDir.open(dir);
    const manifest = await results.readManifest();
    for (const cell of cellViews(manifest)) {
      const samples = await results.readSamples(cell.id);
      if (samples.length === 0) continue;
      const negotiated = cell.negotiatedBits;
      cells.push({
        source: dir,
        id: cell.id,
        kernel: cell.kernel,
        config: cell.config,
        workload: cell.workload,
        samples,
        environment: cell.environment,
        hostState: cell.hostState,
        unnegotiatedBits:
          negotiated === undefined
            ? []
            : cell.requestedBits.filter((bit) => !negotiated.includes(bit)),
      });
    }
  }
  return cells;
}
