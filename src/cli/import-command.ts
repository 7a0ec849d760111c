import { readFile } from "node:fs/promises";
import { UsageError } from "../core/errors.js";
import { PerfCsvParseError, parsePerfStatCsv } from "../core/perf/perf-csv.js";
import { ResultsDir, cellId } from "../experiment/results-dir.js";
import { countersFromPerfRun, type Sample } from "../core/results-format/sample.js";
import { TOOL_VERSION } from "../version.js";
import type { CliIo, ImportCliOptions } from "./program.js";
import { stat } from "node:fs/promises";
import { join } from "node:path";

interface ImportManifest {
  schema: 1;
  tool: { name: string; version: string };
  createdAt: string;
  cells: Record<string, unknown>[];
  [key: string]: unknown;
}

/**
 * Adds a hand-run bench.sh CSV (perf stat -x, -o FILE --append) to a results directory as one
 * cell, so manual runs compare with orchestrated ones. The CSV is kept byte for byte.
 */
export async function importCommand(
  file: string,
  options: ImportCliOptions,
  io: CliIo,
): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError(`cannot read CSV file '${file}'`, {
      hint: "pass the perf CSV bench.sh wrote (/tmp/perf.csv)",
    });
  }
  let runs;
  try {
    runs = parsePerfStatCsv(text);
  } catch (error) {
    if (error instanceof PerfCsvParseError)
      throw new UsageError(`${file}: ${error.message}`, {
        hint: "import only what `perf stat -x, -o FILE --append` wrote",
      });
    throw error;
  }
  if (runs.length === 0)
    throw new UsageError(`${file} holds no perf runs`, {
      hint: "pass the CSV of a finished bench.sh run",
    });

  const exists = await stat(join(options.out, "manifest.json")).then(
    () => true,
    () => false,
  );
  const results = exists
    ? await ResultsDir.open(options.out)
    : await ResultsDir.create(options.out);
  const manifest: ImportManifest = exists
    ? await results.readManifest<ImportManifest>()
    : {
        schema: 1,
        tool: { name: "balloon-bench", version: TOOL_VERSION },
        createdAt: new Date().toISOString(),
        cells: [],
      };
  const id = cellId(options.kernel, options.config, options.workload);
  if (manifest.cells.some((c) => c["id"] === id)) {
    throw new UsageError(`${options.out} already has a cell ${id}`, {
      hint: "use another --kernel/--config/--workload label or another --out",
    });
  }
  await results.writeRawCsv(id, text);
  for (const run of runs) {
    const sample: Sample = {
      schema: 1,
      cell: id,
      kernel: options.kernel,
      config: options.config,
      workload: options.workload,
      iteration: run.index + 1,
      warmup: false,
      startedAt: run.startedOn ?? "",
      wallMs: 0,
      settle: { method: "flush" },
      counters: countersFromPerfRun(run),
    };
    await results.appendSample(sample);
  }
  manifest.cells.push({
    id,
    kernel: { name: options.kernel },
    config: { name: options.config },
    workload: options.workload,
    status: "complete",
    imported: { from: file, runs: runs.length, accelerator: options.accel },
  });
  await results.writeManifest(manifest);
  io.stdout(`imported ${runs.length} runs from ${file} into ${results.path} as cell ${id}\n`);
}
