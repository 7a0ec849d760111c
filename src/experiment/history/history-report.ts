import { dirname } from "node:path";
import { UsageError } from "../../core/errors.js";
import { buildSeries } from "../../core/history/history-series.js";
import { renderHistoryReport } from "../../core/history/render-history-report.js";
import { analyzeSeries } from "../../core/history/series-analysis.js";
import { loadChartAssets } from "../../machine/history/chart-assets.js";
import { readStore } from "../../machine/history/history-store.js";
import { writeFileAtomic } from "../../util/atomic-file.js";
import { resolveOptions, type HistoryChangesOptions } from "./history-options.js";

/** Writes the offline HTML report (atomically: a temporary file renamed into place). */
export async function historyReport(
  store: string,
  outFile: string,
  options: HistoryChangesOptions = {},
): Promise<{ text: string; bytes: number }> {
  const { analysis } = resolveOptions(options);
  const contents = await readStore(store);
  const series = buildSeries(contents.records);
  const changes = series.flatMap((s) => analyzeSeries(s, analysis).changes);
  const html = renderHistoryReport(contents.records, changes, await loadChartAssets());
  try {
    await writeFileAtomic(outFile, html);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new UsageError(`cannot write ${outFile}: its directory does not exist`, {
        hint: `create ${dirname(outFile)} first or give --out another path`,
      });
    }
    throw error;
  }
  const bytes = Buffer.byteLength(html);
  const lines = [
    `history report ${outFile}: ${series.length} series, ${changes.length} change point(s), ${(bytes / 1024).toFixed(0)} KiB, works offline`,
    ...contents.notes.map((n) => `note: ${n}`),
  ];
  return { text: `${lines.join("\n")}\n`, bytes };
}
