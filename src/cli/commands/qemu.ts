import { availableParallelism } from "node:os";
import { UsageError } from "../../core/errors.js";
import { buildQemu } from "../../machine/qemu-build/qemu-build.js";
import { cacheDir } from "../../util/paths.js";
import type { CliIo } from "../io.js";
import { liveLine } from "../live-line.js";

export interface QemuBuildCliOptions {
  tree: string;
  configure: string[];
  jobs?: string;
  force?: boolean;
}

/** `balloon-bench qemu build --tree DIR`: builds x86_64-softmmu into the cache, prints the binary. */
export async function qemuBuildCommand(options: QemuBuildCliOptions, io: CliIo): Promise<void> {
  const jobs = options.jobs === undefined ? availableParallelism() : Number(options.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new UsageError(`--jobs '${options.jobs}' is not a positive whole number`, {
      hint: "pass e.g. --jobs 2",
    });
  }
  const tty = process.stderr.isTTY;
  const status = liveLine(io, { isTTY: tty, columns: process.stderr.columns });
  let shown = -10;
  const build = await buildQemu({
    tree: options.tree,
    cacheRoot: cacheDir(),
    configureExtra: options.configure,
    jobs,
    env: process.env,
    force: options.force === true,
    progress: (message, step) => {
      if (step === undefined) return status.line(`qemu build: ${message}`);
      const percent = Math.floor((100 * step.done) / step.total);
      const text = `qemu build: compiling ${step.done}/${step.total} (${percent}%)`;
      if (tty) status.update(text);
      else if (percent >= shown + 10) {
        shown = percent;
        status.line(text);
      }
    },
  }).finally(() => status.end());
  io.stderr(
    build.built
      ? `qemu build: built QEMU ${build.version} in ${build.seconds?.toFixed(0)} s (log: ${build.logPath})\n`
      : `qemu build: up to date: QEMU ${build.version}, key ${build.key} (log: ${build.logPath})\n`,
  );
  io.stdout(`${build.binary}\n`);
}
