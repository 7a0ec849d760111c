import { Command, Option } from "commander";
import { TOOL_VERSION } from "../version.js";
import type { CompareCliOptions } from "./commands/compare.js";
import type { DoctorCliOptions } from "./commands/doctor.js";
import type { ImportCliOptions } from "./commands/import.js";
import type { QemuBuildCliOptions } from "./commands/qemu.js";
import type { CliIo } from "./io.js";
import { addHistoryCommands } from "./history-command-table.js";
import { addKernelCommands } from "./kernel-commands.js";
import { addVmCommands } from "./live-commands.js";
import {
  addRunOptions,
  collect,
  directionOption,
  explicitOptions,
  type RunCliOptions,
} from "./options.js";

export type { CliIo } from "./io.js";

/**
 * The command table; each action imports its command lazily so `--help` stays fast.
 */
export function buildProgram(io: CliIo): Command {
  const program = new Command("balloon-bench")
    .description("Benchmark what virtio-balloon feature bits (6, 7) do to guest memory performance")
    .version(TOOL_VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    // Set before the subcommands are added so they inherit it: main() maps parse errors to exit 2.
    .exitOverride();

  for (const add of [
    addProbeCommand,
    addDoctorCommand,
    addRunCommand,
    addCalibrateCommand,
    addImageCommand,
    addQemuCommand,
    addImportCommand,
    addCompareCommand,
    addMergeCommand,
    addHistoryCommands,
    addKernelCommands,
    addVmCommands,
  ])
    add(program, io);
  return program;
}

function addProbeCommand(program: Command, io: CliIo): void {
  program
    .command("probe")
    .description("show which virtio-balloon feature bits this QEMU can offer")
    .option("--qemu <path>", "QEMU binary (default: qemu-system-x86_64 on PATH)")
    .option("--json", "print the stable JSON report instead of a table")
    .addOption(
      new Option(
        "--map <bit=property>",
        "map a feature bit to a virtio-balloon-pci property (repeatable)",
      )
        .argParser(collect)
        .default([] as string[], "bits 2-7 to deflate-on-oom ... device-init-on-inflate"),
    )
    .action(async (options: { qemu?: string; json?: boolean; map: string[] }) => {
      const { probeCommand } = await import("./commands/probe.js");
      await probeCommand(options, io);
    });
}

function addDoctorCommand(program: Command, io: CliIo): void {
  program
    .command("doctor")
    .description(
      "check QEMU, accelerators, tools, disk space, the cache and the host settings that make timings noisy",
    )
    .option("--qemu <path>", "QEMU binary (default: qemu-system-x86_64 on PATH)")
    .option("--json", "print the checks as JSON")
    .option(
      "--tune",
      "show the benchmark settings it would set: governor performance, boost off, KSM off",
    )
    .option(
      "--thp <always|madvise|never>",
      "with --tune: host THP as the plan needs (default: leave it)",
    )
    .option("--apply", "with --tune: set them (root only), saving the previous values")
    .option("--reset", "restore the values --apply saved")
    .action(async (options: DoctorCliOptions) => {
      const { doctorCommand } = await import("./commands/doctor.js");
      await doctorCommand(options, io);
    });
}

function addRunCommand(program: Command, io: CliIo): void {
  addRunOptions(
    program
      .command("run")
      .description(
        "boot guests and run alloc_once under perf stat, following the series' bench.sh",
      ),
  ).action(async (options: RunCliOptions, command: Command) => {
    const { runCommand } = await import("./commands/run.js");
    await runCommand(options, explicitOptions(command), io);
  });
}

function addCalibrateCommand(program: Command, io: CliIo): void {
  addRunOptions(
    program
      .command("calibrate")
      .description(
        "A/A experiment: one kernel and config twice; writes the noise floor per metric",
      ),
  ).action(async (options: RunCliOptions, command: Command) => {
    const { calibrateCommand } = await import("./commands/calibrate.js");
    await calibrateCommand(options, explicitOptions(command), io);
  });
}

function addImageCommand(program: Command, io: CliIo): void {
  const image = program
    .command("image")
    .description("the guest image (Debian bookworm, sshd, perf; cached by recipe hash)");
  image
    .command("build")
    .description("build the guest image now (runs build it when missing)")
    .option("--force", "rebuild even when the cached image matches the recipe")
    .action(async (options: { force?: boolean }) => {
      const { imageBuildCommand } = await import("./commands/image.js");
      await imageBuildCommand(options, io);
    });
}

function addQemuCommand(program: Command, io: CliIo): void {
  const qemu = program.command("qemu").description("QEMU builds (cached by the tree's content)");
  qemu
    .command("build")
    .description(
      "build a QEMU source tree for x86_64-softmmu (TCG, KVM, slirp) into the cache; prints the binary's path for --qemu",
    )
    .requiredOption("--tree <dir>", "a QEMU git checkout or unpacked source package")
    .option("--configure <arg>", "extra configure argument (repeatable)", collect, [])
    .option("--jobs <n>", "parallel ninja jobs (default: the CPU count)")
    .option("--force", "rebuild even when a cached build of the same tree and options exists")
    .action(async (options: QemuBuildCliOptions) => {
      const { qemuBuildCommand } = await import("./commands/qemu.js");
      await qemuBuildCommand(options, io);
    });
}

function addImportCommand(program: Command, io: CliIo): void {
  program
    .command("import <files...>")
    .description(
      "add perf CSVs from hand-run bench.sh (one per freshly booted VM) to a results directory",
    )
    .requiredOption("--kernel <name>", "label of the kernel build the CSV was measured on")
    .requiredOption("--config <name>", "label of the balloon feature configuration")
    .option("--workload <name>", "workload label", "alloc_once-256M")
    .requiredOption("--out <dir>", "results directory (created if missing)")
    .option(
      "--accel <name>",
      "accelerator the CSV was measured under (kvm or tcg), recorded",
      "unknown",
    )
    .action(async (files: string[], options: ImportCliOptions) => {
      const { importCommand } = await import("./commands/import.js");
      await importCommand(files, options, io);
    });
}

function addCompareCommand(program: Command, io: CliIo): void {
  program
    .command("compare <dirs...>")
    .description(
      "compare kernel builds and feature configs across results directories, with CI gates",
    )
    .option(
      "--baseline <kernel=NAME|config=NAME>",
      "what candidates are compared against (default: the first kernel, or the first config)",
    )
    .option(
      "--format <text|md|json|junit|html|letter>",
      "output format (letter: the cover letter's table, 72 columns)",
      "text",
    )
    .option("--out <file>", "write the report to a file instead of stdout")
    .option(
      "--fail-on-regression <pct>",
      "exit 1 when a regression's whole 95 % CI is beyond PCT %; 3 when the CI does not decide",
    )
    .option(
      "--min-effect <pct>",
      "smallest change called a regression or improvement; smaller is 'no change' or inconclusive",
      "2",
    )
    .addOption(
      new Option(
        "--expect-improvement <metric:pct>",
        "exit 0 only when METRIC's whole 95 % CI improves by PCT % or more; 1 when it is short; 3 undecided",
      )
        .argParser(collect)
        .default([] as string[]),
    )
    .addOption(directionOption())
    .option("--alpha <p>", "significance level after Holm's correction", "0.05")
    .option("--force", "compare across different accelerators anyway (flagged)")
    .option(
      "--calibration <dir>",
      "results of `balloon-bench calibrate` whose noise floor to show (found in DIRs too)",
    )
    .option(
      "--vmstat <fields>",
      "also compare these /proc/vmstat deltas recorded by run (e.g. pgfault,thp_fault_alloc)",
    )
    .option(
      "--device-work",
      "also compare what the device gave the host: QEMU's RSS fall across the settle (free page reporting) and the inflate",
    )
    .action(async (dirs: string[], options: CompareCliOptions) => {
      const { compareCommand } = await import("./commands/compare.js");
      await compareCommand(dirs, options, io);
    });
}

function addMergeCommand(program: Command, io: CliIo): void {
  program
    .command("merge <dirs...>")
    .description("combine the shard directories of one plan (run --shard I/N) into one")
    .requiredOption("--out <dir>", "the merged results directory (new)")
    .action(async (dirs: string[], options: { out: string }) => {
      const { mergeCommand } = await import("./commands/merge.js");
      await mergeCommand(dirs, options.out, io);
    });
}
