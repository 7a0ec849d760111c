import { appendFile } from "node:fs/promises";
import { UsageError } from "../../core/errors.js";
import { historyChanges } from "../../experiment/history/history-changes.js";
import { EXIT_FAILURE } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import { parseDirection } from "../options.js";

export interface HistoryChangesCliOptions {
  store: string;
  series?: string;
  format: string;
  failOnRegression?: string;
  window: string;
  significance: string;
  minMagnitude: string;
  direction: string[];
}

const FORMATS = ["text", "json", "md"] as const;

function parseNumber(value: string, flag: string, example: string): number {
  const text = value.trim().replace(/%$/, "");
  if (!/^\d+(\.\d+)?$/.test(text))
    throw new UsageError(`${flag} takes a number, got '${value}'`, {
      hint: `e.g. ${flag} ${example}`,
    });
  return Number(text);
}

/** The metrics --direction says are better higher (the others are better lower). */
function higherIsBetter(directions: readonly string[]): string[] {
  return directions.flatMap((value) => {
    const [metric, direction] = parseDirection(value);
    return direction === "higher" ? [metric] : [];
  });
}

/**
 * `balloon-bench history changes --store PATH`: exit 1 when --fail-on-regression is given and the
 * latest night brought a new regression at least that large; 2 for unusable input. The Markdown
 * summary of the new change points goes to $GITHUB_STEP_SUMMARY when it is set.
 */
export async function historyChangesCommand(
  options: HistoryChangesCliOptions,
  io: CliIo,
): Promise<void> {
  const format = FORMATS.find((f) => f === options.format);
  if (format === undefined)
    throw new UsageError(`unknown --format '${options.format}'`, {
      hint: `use one of ${FORMATS.join(", ")}`,
    });
  const result = await historyChanges(options.store, options.series, {
    detector: {
      windowLength: parseNumber(options.window, "--window", "40"),
      maxPValue: parseNumber(options.significance, "--significance", "0.01"),
      minMagnitude: parseNumber(options.minMagnitude, "--min-magnitude", "2.5") / 100,
    },
    higherIsBetter: higherIsBetter(options.direction),
    ...(options.failOnRegression === undefined
      ? {}
      : {
          failOnRegression: parseNumber(options.failOnRegression, "--fail-on-regression", "5"),
        }),
  });
  if (format === "json") io.stdout(`${JSON.stringify(result.json, null, 2)}\n`);
  else if (format === "md") io.stdout(result.markdown);
  else io.stdout(result.text);
  const summaryPath = process.env["GITHUB_STEP_SUMMARY"];
  if (summaryPath !== undefined && summaryPath !== "")
    await appendFile(summaryPath, result.markdown);
  if (result.exitCode !== 0) {
    io.stderr("balloon-bench: gate failed: a new regression in the history (see above)\n");
    io.setExitCode(EXIT_FAILURE);
  }
}
