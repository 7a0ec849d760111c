import { readFile } from "node:fs/promises";
import { UsageError } from "../core/errors.js";
import { PerfCsvParseError, parsePerfStatCsv, type PerfRun } from "../core/perf/perf-csv.js";
import { LABEL } from "../core/plan/kernel-spec.js";
import { cellId } from "../core/plan/plan.js";
import {
  MANIFEST_SCHEMA,
  type ImportCell,
  type ImportManifest,
} from "../core/results-format/manifest.js";
import { countersFromPerfRun, type Sample } from "../core/results-format/sample.js";
import { TOOL_VERSION } from "../version.js";
import { RAW_CSV_FILE, ResultsDir } from "./results-dir.js";
import { ResultsLock } from "./results-lock.js";

export interface ImportRequest {
  /** One CSV per boot: bench.sh run once in a freshly booted VM. */
  readonly files: readonly string[];
  readonly kernel: string;
  readonly config: string;
  readonly workload: string;
  readonly accelerator: string;
  readonly out: string;
}

export interface ImportResult {
  readonly resultsDir: string;
  readonly cellId: string;
  readonly runs: number;
}

async function readRuns(file: string): Promise<{ text: string; runs: PerfRun[] }> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError(`cannot read CSV file '${file}'`, {
      hint: "pass the perf CSV bench.sh wrote (/tmp/perf.csv)",
    });
  }
  if (text.includes("\u0000")) {
    throw new UsageError(`${file} is not a text file (it holds NUL bytes), so not a perf CSV`, {
      hint: "pass the CSV `perf stat -x, -o FILE --append` wrote",
    });
  }
  let runs: PerfRun[];
  try {
    runs = parsePerfStatCsv(text);
  } catch (error) {
    if (!(error instanceof PerfCsvParseError)) throw error;
    throw new UsageError(`${file}: ${error.message}`, {
      hint: "import only what `perf stat -x, -o FILE --append` wrote",
    });
  }
  if (runs.length === 0)
    throw new UsageError(`${file} holds no perf runs`, {
      hint: "pass the CSV of a finished bench.sh run",
    });
  return { text, runs };
}

/** An existing import directory, or a new one; a run's directory is not added to. */
async function openImportDir(
  out: string,
): Promise<{ results: ResultsDir; manifest: ImportManifest }> {
  const { dir: results, manifest } = await ResultsDir.createOrOpen(out);
  if (manifest === undefined) {
    return {
      results,
      manifest: {
        schema: MANIFEST_SCHEMA,
        kind: "import",
        tool: { name: "balloon-bench", version: TOOL_VERSION },
        createdAt: new Date().toISOString(),
        cells: [],
      },
    };
  }
  if (manifest.kind !== "import") {
    throw new UsageError(`${out} holds the results of a run; imports go into their own directory`, {
      hint: "import into a new --out and pass both directories to compare",
    });
  }
  return { results, manifest };
}

/** One file keeps bench.sh's own name; several are numbered by boot. */
function rawCsvName(boot: number, files: number): string {
  return files === 1 ? RAW_CSV_FILE : `perf-r${boot}.csv`;
}

function importedSamples(
  id: string,
  request: ImportRequest,
  boot: number,
  runs: readonly PerfRun[],
): Sample[] {
  return runs.map((run) => ({
    schema: 1,
    cell: id,
    kernel: request.kernel,
    config: request.config,
    workload: request.workload,
    iteration: 0,
    warmup: false,
    startedAt: run.startedOn ?? "",
    wallMs: 0,
    settle: { method: "flush" },
    counters: countersFromPerfRun(run),
    round: boot,
    boot: `import-${boot}`,
    rawCsv: rawCsvName(boot, request.files.length),
    perfRun: run.index,
  }));
}

/**
 * Adds hand-run bench.sh CSVs (perf stat -x, -o FILE --append) to a results directory as one
 * cell, one boot per file, so manual runs compare with orchestrated ones. Every file is read and
 * checked before anything is written; the CSVs are kept byte for byte.
 */
export async function importCsvFiles(request: ImportRequest): Promise<ImportResult> {
  for (const [flag, value] of [
    ["--kernel", request.kernel],
    ["--config", request.config],
    ["--workload", request.workload],
  ] as const) {
    if (!LABEL.test(value)) {
      throw new UsageError(`${flag} '${value.slice(0, 40)}' is not usable as a label`, {
        hint: "use letters, digits, '.', '_' and '-' (at most 64), starting with a letter or digit",
      });
    }
  }
  const parsed = [];
  for (const file of request.files) parsed.push(await readRuns(file));
  const { results, manifest } = await openImportDir(request.out);
  await using _lock = await ResultsLock.acquire(results.path, ["import", ...request.files]);
  const id = cellId(request.kernel, request.config, request.workload);
  if (manifest.cells.some((c) => c.id === id)) {
    throw new UsageError(`${request.out} already has a cell ${id}`, {
      hint: "use another --kernel/--config/--workload label or another --out",
    });
  }
  let iteration = 0;
  for (const [i, { text, runs }] of parsed.entries()) {
    await results.writeRawCsv(id, text, rawCsvName(i + 1, parsed.length));
    for (const sample of importedSamples(id, request, i + 1, runs)) {
      iteration += 1;
      await results.appendSample({ ...sample, iteration });
    }
  }
  const cell: ImportCell = {
    id,
    status: "complete",
    kernelName: request.kernel,
    configName: request.config,
    workload: request.workload,
    environment: { accelerator: request.accelerator, qemuVersion: null, cpuModel: null },
    imported: { from: [...request.files], runs: iteration },
  };
  await results.writeManifest({ ...manifest, cells: [...manifest.cells, cell] });
  return { resultsDir: results.path, cellId: id, runs: iteration };
}
