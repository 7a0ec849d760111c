import { join } from "node:path";
import { parseFeatureList } from "../balloon/feature-bits.js";
import { parsePropertyMapOverrides } from "../balloon/property-map.js";
import { runBench } from "../bench/run-bench.js";
import { parseEvents, parsePositiveInt } from "../bench/run-options.js";
import { assertUniqueKernelNames, parseKernelSpec } from "../kernel/kernel-spec.js";
import { parseAcceleratorRequest } from "../qemu/accelerator.js";
import { renderSummary } from "../results/summary.js";
import type { CliIo, RunCliOptions } from "./program.js";

function defaultOutDir(): string {
  return join("results", `run-${new Date().toISOString().replace(/[:.]/g, "-")}`);
}

export async function runCommand(options: RunCliOptions, io: CliIo): Promise<void> {
  const propertyMap = parsePropertyMapOverrides(options.map);
  const kernels = options.kernel.map(parseKernelSpec);
  assertUniqueKernelNames(kernels);
  const result = await runBench(
    {
      kernels,
      sizeMiB: parsePositiveInt(options.size, "--size"),
      iterations: parsePositiveInt(options.iterations, "--iterations"),
      warmups: parsePositiveInt(options.warmup, "--warmup", 0),
      huge: options.huge === true,
      accel: parseAcceleratorRequest(options.accel),
      qemu: options.qemu,
      out: options.out ?? defaultOutDir(),
      events: parseEvents(options.events),
      features: parseFeatureList(options.features, propertyMap),
      propertyMap,
      memoryMiB: parsePositiveInt(options.memory, "--memory", 64),
      vcpus: parsePositiveInt(options.vcpus, "--vcpus"),
      bootTimeoutMs: parsePositiveInt(options.bootTimeout, "--boot-timeout") * 1000,
      settleMs: parsePositiveInt(options.settle, "--settle", 0),
      balloonModule: options.balloonModule,
    },
    (line) => io.stderr(`${line}\n`),
  );
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
