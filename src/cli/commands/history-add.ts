import { addResultsToHistory } from "../../experiment/history/history-add.js";
import type { CliIo } from "../io.js";

/** `balloon-bench history add DIR... --store PATH`. */
export async function historyAddCommand(
  dirs: readonly string[],
  options: { store: string },
  io: CliIo,
): Promise<void> {
  const result = await addResultsToHistory(options.store, dirs);
  io.stdout(result.text);
}
