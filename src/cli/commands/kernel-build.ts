import { UsageError } from "../../core/errors.js";
import { formatDuration } from "../../core/kernel/kernel-build-plan.js";
import { describeMakeProgress } from "../../core/kernel/make-progress.js";
import { buildKernel } from "../../machine/kernel-build/build-kernel.js";
import { cacheDir } from "../../util/paths.js";
import type { CliIo } from "../io.js";
import { liveLine } from "../live-line.js";

export interface KernelBuildCliOptions {
  tree: string;
  ref?: string;
  patches: string[];
  config?: string;
  fragment: string[];
  jobs?: string;
  ccache: boolean;
  json?: boolean;
}

function parseJobs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(value.trim()))
    throw new UsageError(`--jobs takes a positive whole number, got '${value}'`, {
      hint: "e.g. --jobs 4 (default: the cores available)",
    });
  return Number(value);
}

/**
 * `balloon-bench kernel build`: bzImage + modules from a source tree (cached by source, patches,
 * config and compiler); prints where they are and the --kernel value that boots them.
 */
export async function kernelBuildCommand(options: KernelBuildCliOptions, io: CliIo): Promise<void> {
  const started = Date.now();
  const status = liveLine(io, { isTTY: process.stderr.isTTY, columns: process.stderr.columns });
  // The error line of a failed build must not land on the status line.
  const built = await (async () => {
    try {
      return await buildKernel({
        tree: options.tree,
        ref: options.ref,
        patches: options.patches,
        config: options.config,
        fragments: options.fragment,
        jobs: parseJobs(options.jobs),
        ccache: options.ccache ? undefined : false,
        cacheRoot: cacheDir(),
        progress: (line) => status.line(line),
        onCompile: (progress) =>
          status.update(
            `kernel build: [3/4] build: ${describeMakeProgress(progress)} (${formatDuration(Date.now() - started)})`,
          ),
      });
    } finally {
      status.end();
    }
  })();
  if (options.json === true) {
    io.stdout(`${JSON.stringify(built, null, 2)}\n`);
    return;
  }
  const id = built.identity;
  const lines = [
    `bzImage: ${built.bzImagePath}`,
    `modules: ${built.modulesDir}`,
    `release: ${built.release}`,
    `config: ${built.configPath} (sha256 ${id.configSha256.slice(0, 16)})`,
    `log: ${built.logPath}`,
    ...(id.commit === undefined ? [] : [`commit: ${id.commit}`]),
    ...id.patches.map((p, i) => `patch ${i + 1}: ${p.subject} (sha256 ${p.sha256.slice(0, 16)})`),
    `compiler: ${id.compiler}`,
    built.cached
      ? `cached (built in ${formatDuration(built.buildSeconds * 1000)}; found in ${formatDuration(Date.now() - started)})`
      : `built in ${formatDuration(Date.now() - started)}`,
    `boot it: --kernel NAME=${built.bzImagePath},modules=${built.modulesDir}`,
  ];
  io.stdout(`${lines.join("\n")}\n`);
}
