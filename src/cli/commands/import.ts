import { importCsvFiles } from "../../experiment/import-results.js";
import type { CliIo } from "../io.js";

export interface ImportCliOptions {
  kernel: string;
  config: string;
  workload: string;
  out: string;
  accel: string;
}

/** `balloon-bench import FILE... --kernel --config --out`: hand-run bench.sh CSVs, one boot each. */
export async function importCommand(
  files: readonly string[],
  options: ImportCliOptions,
  io: CliIo,
): Promise<void> {
  const imported = await importCsvFiles({
    files,
    kernel: options.kernel,
    config: options.config,
    workload: options.workload,
    accelerator: options.accel,
    out: options.out,
  });
  const from = files.length === 1 ? files[0] : `${files.length} files`;
  io.stdout(
    `imported ${imported.runs} runs from ${from} into ${imported.resultsDir} as cell ${imported.cellId}\n`,
  );
}
