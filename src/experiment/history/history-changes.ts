import {
  changesJson,
  formatChangesMarkdown,
  formatChangesText,
  type ChangesReport,
} from "../../core/history/history-format.js";
import { gateHistory } from "../../core/history/history-gate.js";
import { buildSeries } from "../../core/history/history-series.js";
import { analyzeSeries } from "../../core/history/series-analysis.js";
import { parseSeriesFilter, selectSeries } from "../../core/history/series-filter.js";
import { readStore } from "../../machine/history/history-store.js";
import { resolveOptions, type HistoryChangesOptions } from "./history-options.js";

export type { HistoryChangesOptions } from "./history-options.js";

export interface HistoryChangesResult {
  readonly text: string;
  readonly json: unknown;
  /** For $GITHUB_STEP_SUMMARY. */
  readonly markdown: string;
  /** 0, or 1 when --fail-on-regression was given and a new regression reaches it. */
  readonly exitCode: number;
}

/** Change points per series and the nightly gate. `filter`: see parseSeriesFilter. */
export async function historyChanges(
  store: string,
  filter: string | undefined,
  options: HistoryChangesOptions = {},
): Promise<HistoryChangesResult> {
  const { analysis, gate } = resolveOptions(options);
  const parsedFilter = filter === undefined ? undefined : parseSeriesFilter(filter);
  const contents = await readStore(store);
  const series = selectSeries(buildSeries(contents.records), parsedFilter);
  const analyses = series.map((s) => analyzeSeries(s, analysis));
  const report: ChangesReport = {
    store,
    detector: analysis.detector,
    higherIsBetter: analysis.higherIsBetter,
    analyses,
    gate: gateHistory(analyses, analysis, gate),
    gating: options.failOnRegression !== undefined,
    notes: contents.notes,
  };
  return {
    text: formatChangesText(report),
    json: changesJson(report),
    markdown: formatChangesMarkdown(report),
    exitCode: report.gating && report.gate.failed ? 1 : 0,
  };
}
