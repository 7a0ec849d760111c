import { appendFile, writeFile } from "node:fs/promises";
import { UsageError } from "../../core/errors.js";
import {
  applyGates,
  buildComparison,
  parseBaselineSelector,
  parseExpectImprovement,
  type Direction,
} from "../../core/compare/compare-model.js";
import { withVmstatMetrics } from "../../core/compare/vmstat-metrics.js";
import { loadCells } from "../../experiment/load-cells.js";
import { readCalibration } from "../../experiment/calibration-file.js";
import { renderHtml } from "../../core/compare/render-html.js";
import { renderJson } from "../../core/compare/render-json.js";
import { renderJunit } from "../../core/compare/render-junit.js";
import { renderMarkdown, renderText } from "../../core/compare/render-table.js";
import { EXIT_FAILURE } from "../exit-codes.js";
import type { CliIo } from "../io.js";

export interface CompareCliOptions {
  baseline?: string;
  format: string;
  out?: string;
  failOnRegression?: string;
  expectImprovement: string[];
  direction: string[];
  force?: boolean;
  alpha: string;
  calibration?: string;
  vmstat?: string;
}

const FORMATS = ["text", "md", "json", "junit", "html"] as const;

function parseDirection(value: string): [string, Direction] {
  const match = /^([A-Za-z0-9_.:/-]+)=(lower|higher)$/.exec(value.trim());
  if (match?.[1] === undefined)
    throw new UsageError(`malformed --direction '${value}'`, {
      hint: "write METRIC=lower or METRIC=higher",
    });
  return [match[1], match[2] as Direction];
}

function parsePct(value: string, flag: string): number {
  if (!/^\d+(\.\d+)?%?$/.test(value.trim()))
    throw new UsageError(`${flag} takes a percentage, got '${value}'`, { hint: `e.g. ${flag} 5` });
  return Number(value.replace("%", ""));
}

/** `balloon-bench compare`: exit 1 when a gate fails, 2 for unusable input (UsageError). */
export async function compareCommand(
  dirs: string[],
  options: CompareCliOptions,
  io: CliIo,
): Promise<void> {
  const format = options.format as (typeof FORMATS)[number];
  if (!FORMATS.includes(format))
    throw new UsageError(`unknown --format '${options.format}'`, {
      hint: `use one of ${FORMATS.join(", ")}`,
    });
  const alpha = Number(options.alpha);
  if (!(alpha > 0 && alpha < 1))
    throw new UsageError(`--alpha must be between 0 and 1, got '${options.alpha}'`, {
      hint: "e.g. --alpha 0.05",
    });
  const calibrations = [];
  for (const dir of [
    ...dirs,
    ...(options.calibration === undefined ? [] : [options.calibration]),
  ]) {
    const calibration = await readCalibration(dir);
    if (calibration !== undefined) calibrations.push(calibration);
    else if (dir === options.calibration) {
      throw new UsageError(`${dir} has no calibration.json`, {
        hint: "pass a directory written by `balloon-bench calibrate`",
      });
    }
  }
  const vmstat = (options.vmstat ?? "")
    .split(",")
    .map((f) => f.trim())
    .filter((f) => f !== "");
  for (const field of vmstat) {
    if (!/^[a-z0-9_]+$/.test(field))
      throw new UsageError(`--vmstat '${field}' is not a /proc/vmstat field`, {
        hint: "e.g. --vmstat pgfault,thp_fault_alloc",
      });
  }
  const report = buildComparison(withVmstatMetrics(await loadCells(dirs), vmstat), {
    noiseFloors: calibrations.flatMap((c) => c.entries),
    baseline: options.baseline === undefined ? undefined : parseBaselineSelector(options.baseline),
    alpha,
    directions: new Map(options.direction.map(parseDirection)),
    force: options.force === true,
  });
  const gates = applyGates(report, {
    failOnRegressionPct:
      options.failOnRegression === undefined
        ? undefined
        : parsePct(options.failOnRegression, "--fail-on-regression"),
    expectImprovement: options.expectImprovement.map(parseExpectImprovement),
  });
  const rendered =
    format === "text"
      ? `${renderText(report, gates)}\n`
      : format === "md"
        ? renderMarkdown(report, gates)
        : format === "json"
          ? renderJson(report, gates)
          : format === "junit"
            ? renderJunit(report, gates)
            : renderHtml(report, gates);
  if (options.out !== undefined) {
    await writeFile(options.out, rendered);
    io.stderr(`wrote ${options.out}\n`);
  } else {
    io.stdout(rendered);
  }
  const summaryPath = process.env["GITHUB_STEP_SUMMARY"];
  if (summaryPath !== undefined && summaryPath !== "")
    await appendFile(summaryPath, renderMarkdown(report, gates));
  if (!gates.passed) {
    for (const failure of gates.failures.values())
      io.stderr(`balloon-bench: gate failed: ${failure}\n`);
    io.setExitCode(EXIT_FAILURE);
  }
}
