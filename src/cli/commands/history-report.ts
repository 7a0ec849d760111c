import { historyReport } from "../../experiment/history/history-report.js";
import type { CliIo } from "../io.js";

/** `balloon-bench history report --store PATH --out FILE.html`. */
export async function historyReportCommand(
  options: { store: string; out: string },
  io: CliIo,
): Promise<void> {
  const result = await historyReport(options.store, options.out);
  io.stdout(result.text);
}
