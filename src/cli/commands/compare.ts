import { appendFile, writeFile } from "node:fs/promises";
import {
  buildComparison,
  parseBaselineSelector,
  type ComparisonReport,
} from "../../core/compare/compare-model.js";
import { applyGates, parseExpectImprovement, type GateResult } from "../../core/compare/gates.js";
import { renderHtml } from "../../core/compare/render-html.js";
import { renderJson } from "../../core/compare/render-json.js";
import { renderJunit } from "../../core/compare/render-junit.js";
import { renderLetter } from "../../core/compare/render-letter.js";
import { renderMarkdown, renderText } from "../../core/compare/render-table.js";
import {
  withDeviceWorkDirections,
  withDeviceWorkMetrics,
} from "../../core/compare/device-work-metrics.js";
import { withVmstatMetrics } from "../../core/compare/vmstat-metrics.js";
import { UsageError } from "../../core/errors.js";
import { readCalibration } from "../../experiment/calibration-file.js";
import { loadCells } from "../../experiment/load-cells.js";
import { EXIT_FAILURE, EXIT_UNDECIDED } from "../exit-codes.js";
import type { CliIo } from "../io.js";
import { parseDirection } from "../options.js";

export interface CompareCliOptions {
  baseline?: string;
  format: string;
  out?: string;
  failOnRegression?: string;
  expectImprovement: string[];
  direction: string[];
  force?: boolean;
  alpha: string;
  minEffect: string;
  calibration?: string;
  vmstat?: string;
  deviceWork?: boolean;
}

const RENDERERS = {
  text: (report: ComparisonReport, gates: GateResult) => `${renderText(report, gates)}\n`,
  md: renderMarkdown,
  json: renderJson,
  junit: renderJunit,
  html: renderHtml,
  letter: (report: ComparisonReport) => renderLetter(report),
} as const;
type Format = keyof typeof RENDERERS;

function parseFormat(value: string): Format {
  if (value in RENDERERS) return value as Format;
  throw new UsageError(`unknown --format '${value}'`, {
    hint: `use one of ${Object.keys(RENDERERS).join(", ")}`,
  });
}

export function parsePct(value: string, flag: string): number {
  if (!/^\d+(\.\d+)?%?$/.test(value.trim()))
    throw new UsageError(`${flag} takes a percentage, got '${value}'`, { hint: `e.g. ${flag} 5` });
  return Number(value.replace("%", ""));
}

function parseAlpha(value: string): number {
  const alpha = Number(value);
  if (!(alpha > 0 && alpha < 1))
    throw new UsageError(`--alpha must be between 0 and 1, got '${value}'`, {
      hint: "e.g. --alpha 0.05",
    });
  return alpha;
}

function parseVmstatFields(value: string | undefined): string[] {
  const fields = (value ?? "")
    .split(",")
    .map((f) => f.trim())
    .filter((f) => f !== "");
  for (const field of fields) {
    if (!/^[a-z0-9_]+$/.test(field))
      throw new UsageError(`--vmstat '${field}' is not a /proc/vmstat field`, {
        hint: "e.g. --vmstat pgfault,thp_fault_alloc",
      });
  }
  return fields;
}

/** Noise floors found in the compared directories, or in --calibration (which must have one). */
async function noiseFloors(dirs: readonly string[], explicit: string | undefined) {
  const floors = [];
  for (const dir of [...dirs, ...(explicit === undefined ? [] : [explicit])]) {
    const calibration = await readCalibration(dir);
    if (calibration !== undefined) floors.push(...calibration.entries);
    else if (dir === explicit) {
      throw new UsageError(`${dir} has no calibration.json`, {
        hint: "pass a directory written by `balloon-bench calibrate`",
      });
    }
  }
  return floors;
}

/**
 * `balloon-bench compare`: exit 1 when a gate fails, 3 when a gate cannot decide (too few boots,
 * or a CI that straddles its limit), 2 for unusable input.
 */
export async function compareCommand(
  dirs: string[],
  options: CompareCliOptions,
  io: CliIo,
): Promise<void> {
  const format = parseFormat(options.format);
  const vmstat = parseVmstatFields(options.vmstat);
  const deviceWork = options.deviceWork === true;
  const cells = withDeviceWorkMetrics(withVmstatMetrics(await loadCells(dirs), vmstat), deviceWork);
  const report = buildComparison(cells, {
    noiseFloors: await noiseFloors(dirs, options.calibration),
    baseline: options.baseline === undefined ? undefined : parseBaselineSelector(options.baseline),
    alpha: parseAlpha(options.alpha),
    minEffectPct: parsePct(options.minEffect, "--min-effect"),
    directions: withDeviceWorkDirections(
      new Map(options.direction.map(parseDirection)),
      deviceWork,
    ),
    force: options.force === true,
  });
  const gates = applyGates(report, {
    failOnRegressionPct:
      options.failOnRegression === undefined
        ? undefined
        : parsePct(options.failOnRegression, "--fail-on-regression"),
    expectImprovement: options.expectImprovement.map(parseExpectImprovement),
  });
  const rendered = RENDERERS[format](report, gates);
  if (options.out !== undefined) {
    await writeFile(options.out, rendered);
    io.stderr(`wrote ${options.out}\n`);
  } else io.stdout(rendered);
  const summaryPath = process.env["GITHUB_STEP_SUMMARY"];
  if (summaryPath !== undefined && summaryPath !== "")
    await appendFile(summaryPath, renderMarkdown(report, gates));
  for (const failure of gates.failures.values())
    io.stderr(`balloon-bench: gate failed: ${failure}\n`);
  for (const why of gates.undecided.values()) io.stderr(`balloon-bench: gate undecided: ${why}\n`);
  if (gates.status === "failed") io.setExitCode(EXIT_FAILURE);
  else if (gates.status === "undecided") io.setExitCode(EXIT_UNDECIDED);
}
