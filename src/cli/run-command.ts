import { join } from "node:path";
import { parseFeatureList } from "../balloon/feature-bits.js";
import { parsePropertyMapOverrides } from "../balloon/property-map.js";
import { runBench, type RunResult } from "../bench/run-bench.js";
import { parseEvents, parsePositiveInt, type RunOptions } from "../bench/run-options.js";
import { assertUniqueKernelNames, parseKernelSpec } from "../kernel/kernel-spec.js";
import { parseAcceleratorRequest } from "../qemu/accelerator.js";
import { renderSummary } from "../results/summary.js";
import type { CliIo, RunCliOptions } from "./program.js";

function defaultOutDir(prefix: string): string {
  return join("results", `${prefix}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
}

/** Turns the CLI's strings into checked run options (shared by run and calibrate). */
export function parseRunOptions(options: RunCliOptions, outPrefix = "run"): RunOptions {
  const propertyMap = parsePropertyMapOverrides(options.map);
  const kernels = options.kernel.map(parseKernelSpec);
  assertUniqueKernelNames(kernels);
  return {
    kernels,
    sizeMiB: parsePositiveInt(options.size, "--size"),
    iterations: parsePositiveInt(options.iterations, "--iterations"),
    warmups: parsePositiveInt(options.warmup, "--warmup", 0),
    huge: options.huge === true,
    accel: parseAcceleratorRequest(options.accel),
    qemu: options.qemu,
    out: options.out ?? defaultOutDir(outPrefix),
    events: parseEvents(options.events),
    features: parseFeatureList(options.features, propertyMap),
    propertyMap,
    memoryMiB: parsePositiveInt(options.memory, "--memory", 64),
    vcpus: parsePositiveInt(options.vcpus, "--vcpus"),
    bootTimeoutMs: parsePositiveInt(options.bootTimeout, "--boot-timeout") * 1000,
    settleMs: parsePositiveInt(options.settle, "--settle", 0),
    balloonModule: options.balloonModule,
  };
}

export function printRunResult(result: RunResult, io: CliIo): void {
  for (const cell of result.cells) {
    io.stdout(
      `\n${cell.kernel} (${cell.facts.unameR}), ${cell.config} (negotiated: ${cell.negotiatedBits.join(", ") || "none"}), ${cell.workload}, ${result.accelerator.accelerator}\n`,
    );
    io.stdout(
      `${renderSummary(cell.summaries, { accelerator: result.accelerator.accelerator })}\n`,
    );
  }
  io.stdout(`\nresults: ${result.resultsDir}\n`);
}

export async function runCommand(options: RunCliOptions, io: CliIo): Promise<void> {
  const result = await runBench(parseRunOptions(options), (line) => io.stderr(`${line}\n`));
  printRunResult(result, io);
}
