/** Nightly runs of two kernel lines for the history command tests. */
import { recordsFromRun } from "../../../src/core/history/history-record.js";
import { analyzeSeries } from "../../../src/core/history/series-analysis.js";
import { buildSeries } from "../../../src/core/history/history-series.js";
import { historyRunInputs, seededHistory } from "../../../src/core/history/synthetic-history.js";
import type { HistoryRunInput } from "../../../src/core/history/history-input.js";

/** Two kernel lines in one nightly run: mainline steps up 10 % at night 50, series-v9 is flat. */
export function nights(count: number): HistoryRunInput[] {
  const events = [{ kind: "step" as const, night: 50, relative: 0.1 }];
  const a = historyRunInputs(seededHistory(3, 70, events));
  const b = historyRunInputs(seededHistory(4, 70), { kernel: "series-v9" });
  return a.slice(0, count).map((run, i) => ({ ...run, cells: [...run.cells, ...b[i]!.cells] }));
}

/** The first night count at which the step at night 50 shows up (what the gate fires on). */
export function firstDetection(): number {
  const all = nights(70);
  for (let n = 51; n <= 70; n++) {
    const records = all.slice(0, n).flatMap((r) => recordsFromRun(r).records);
    const [mainline] = buildSeries(records);
    if (analyzeSeries(mainline!).changes.some((c) => Math.abs(c.index - 50) <= 2)) return n;
  }
  throw new Error("the step was never found");
}
