import { Command } from "commander";
import type { HistoryChangesCliOptions } from "./commands/history-changes.js";
import type { CliIo } from "./io.js";
import { directionOption } from "./options.js";

/**
 * `balloon-bench history add|changes|report`: the nightly history. Each action imports its
 * command lazily so `--help` stays fast.
 */
export function addHistoryCommands(program: Command, io: CliIo): void {
  const history = program
    .command("history")
    .description(
      "a store of every night's results: change points per series, and an offline HTML report",
    );
  history
    .command("add <dirs...>")
    .description("append results directories to the store (created if missing; twice adds nothing)")
    .requiredOption("--store <path>", "the history store, a JSON-lines file")
    .action(async (dirs: string[], options: { store: string }) => {
      const { historyAddCommand } = await import("./commands/history-add.js");
      await historyAddCommand(dirs, options, io);
    });
  addChangesCommand(history, io);
  history
    .command("report")
    .description("one offline HTML file: a time series per series, box plots of the latest night")
    .requiredOption("--store <path>", "the history store")
    .requiredOption("--out <file>", "the HTML file to write")
    .action(async (options: { store: string; out: string }) => {
      const { historyReportCommand } = await import("./commands/history-report.js");
      await historyReportCommand(options, io);
    });
}

function addChangesCommand(history: Command, io: CliIo): void {
  history
    .command("changes")
    .description("change points per series (e-divisive with a t-test), and a gate on new ones")
    .requiredOption("--store <path>", "the history store")
    .option(
      "--series <filter>",
      "field=glob[,field=glob] over kernel, config, workload, metric, or a word in the series name",
    )
    .option("--format <text|json|md>", "output format", "text")
    .option(
      "--fail-on-regression <pct>",
      "exit 1 when the latest night brought a new change point that is a regression of PCT % or more",
    )
    .option("--window <nights>", "nights per window of the e-divisive search", "40")
    .option("--significance <p>", "a change point needs a t-test p below this", "0.01")
    .option("--min-magnitude <pct>", "and a change of more than this many percent", "2.5")
    .addOption(directionOption())
    .action(async (options: HistoryChangesCliOptions) => {
      const { historyChangesCommand } = await import("./commands/history-changes.js");
      await historyChangesCommand(options, io);
    });
}
