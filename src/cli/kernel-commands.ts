import { Command, Option } from "commander";
import type { KernelBuildCliOptions } from "./commands/kernel-build.js";
import type { ValidateCliOptions } from "./commands/validate.js";
import type { CliIo } from "./io.js";
import { addRunOptions, collect, directionOption } from "./options.js";

/** `kernel build` and `validate`: kernels from a source tree, and a patch series checked end to end. */
export function addKernelCommands(program: Command, io: CliIo): void {
  addKernelBuildCommand(program, io);
  addValidateCommand(program, io);
}

function addKernelBuildCommand(program: Command, io: CliIo): void {
  program
    .command("kernel")
    .description("kernels from a source tree")
    .command("build")
    .description(
      "build bzImage + modules from a kernel source tree with a guest config (cached), print their paths",
    )
    .requiredOption(
      "--tree <dir>",
      "a kernel source: git checkout or unpacked linux-source (only read)",
    )
    .option("--ref <ref>", "build this commit instead of the work tree (git trees)")
    .addOption(
      new Option(
        "--patches <mbox...>",
        "apply this mbox series on top, as `b4 am` writes it (repeatable)",
      )
        .argParser(collect)
        .default([] as string[]),
    )
    .option("--config <file>", "start from this .config instead of the default guest config")
    .addOption(
      new Option("--fragment <file...>", "merge this config fragment on top (repeatable)")
        .argParser(collect)
        .default([] as string[]),
    )
    .option("--jobs <N>", "make -j (default: the cores available)")
    .option("--no-ccache", "do not compile through ccache (default: used when installed)")
    .option("--json", "print the result as JSON")
    .action(async (options: KernelBuildCliOptions) => {
      const { kernelBuildCommand } = await import("./commands/kernel-build.js");
      await kernelBuildCommand(options, io);
    });
}

function addValidateCommand(program: Command, io: CliIo): void {
  addRunOptions(
    program
      .command("validate")
      .description(
        "build baseline and patched kernels from a tree, run them interleaved, print the cover-letter table and the verdict",
      ),
  )
    .requiredOption("--tree <dir>", "the kernel source (git checkout; only read)")
    .requiredOption("--base <ref>", "the commit the series applies to (the baseline kernel)")
    .addOption(
      new Option("--patches <mbox...>", "the series (mbox, as `b4 am` writes it; repeatable)")
        .argParser(collect)
        .default([] as string[]),
    )
    .addOption(
      new Option(
        "--config <NAME=BITS>",
        "a balloon feature config to run both kernels in (repeatable)",
      )
        .argParser(collect)
        .default([] as string[], "one config of --features"),
    )
    .option("--kernel-config <file>", "build both kernels from this .config")
    .addOption(
      new Option("--fragment <file...>", "merge this config fragment into both (repeatable)")
        .argParser(collect)
        .default([] as string[]),
    )
    .addOption(
      new Option(
        "--expect-improvement <metric:pct>",
        "exit 0 only when METRIC's whole 95 % CI improves by PCT % or more; 1 short; 3 undecided",
      )
        .argParser(collect)
        .default([] as string[]),
    )
    .addOption(directionOption())
    .option(
      "--fail-on-regression <pct>",
      "exit 1 when a regression's whole 95 % CI is beyond PCT %",
    )
    .option("--min-effect <pct>", "smallest change called a regression or improvement", "2")
    .option("--vmstat-compare <fields>", "also compare these /proc/vmstat deltas (e.g. pgfault)")
    .action(async (options: ValidateCliOptions) => {
      const { validateCommand } = await import("./commands/validate.js");
      await validateCommand(options, io);
    });
}
