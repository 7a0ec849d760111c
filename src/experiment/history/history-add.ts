import type { HistoryRunInput } from "../../core/history/history-input.js";
import { recordsFromRun, type HistoryRecord } from "../../core/history/history-record.js";
import { UsageError } from "../../core/errors.js";
import { appendToStore } from "../../machine/history/history-store.js";
import { readHistoryRunInput } from "./results-history-input.js";

export interface HistoryAddResult {
  readonly text: string;
  readonly added: number;
  readonly alreadyPresent: number;
}

/**
 * `history add DIR...`: every directory is read (through the results format) before the store is
 * touched, so one bad directory leaves the store as it was.
 */
export async function addResultsToHistory(
  store: string,
  dirs: readonly string[],
): Promise<HistoryAddResult> {
  const inputs: HistoryRunInput[] = [];
  for (const dir of dirs) inputs.push(await readHistoryRunInput(dir));
  return historyAdd(store, inputs);
}

/** Adds runs to the store (creating it); adding a run again adds nothing. */
export async function historyAdd(
  store: string,
  inputs: readonly HistoryRunInput[],
): Promise<HistoryAddResult> {
  if (inputs.length === 0) {
    throw new UsageError("history add: no results directories given", {
      hint: "balloon-bench history add RESULTS_DIR... --store PATH",
    });
  }
  const records: HistoryRecord[] = [];
  const skipped: string[] = [];
  for (const input of inputs) {
    const result = recordsFromRun(input);
    records.push(...result.records);
    for (const s of result.skipped)
      skipped.push(`${input.sourceRun}: ${s.cell} · ${s.metric} (${s.reason})`);
  }
  const result = await appendToStore(store, records);
  const lines = [
    `history ${store}: added ${result.added} record(s) from ${inputs.length} run(s)` +
      (result.alreadyPresent > 0 ? `, ${result.alreadyPresent} already there` : "") +
      (result.created ? " (new store)" : ""),
    ...result.notes.map((n) => `note: ${n}`),
    ...skipped.map((s) => `skipped: ${s}`),
  ];
  return {
    text: `${lines.join("\n")}\n`,
    added: result.added,
    alreadyPresent: result.alreadyPresent,
  };
}
