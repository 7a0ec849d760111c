/** A run with many cells (so one append writes hundreds of KiB), deterministic per night. */
import type { HistoryRunInput } from "../../../src/core/history/history-input.js";
import { cell, run } from "../../core/history/fixtures.js";

export function bigRun(night: number, cells = 300): HistoryRunInput {
  return run(
    night,
    Array.from({ length: cells }, (_, i) =>
      cell(1000 + night + i, { kernel: `kernel-${String(i).padStart(3, "0")}` }),
    ),
  );
}
