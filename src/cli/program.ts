import { Command, Option } from "commander";
import { addMachineOptions, collect, explicitOptions } from "./machine-options.js";
import type { CompareCliOptions } from "./compare-command.js";
import { parsePropertyMapOverrides } from "../core/balloon/property-map.js";
import { doctorExitCode, renderDoctor } from "../core/doctor/doctor-checks.js";
import { renderProbeTable } from "../core/probe/probe-report.js";
import { TOOL_VERSION } from "../version.js";
import { DEFAULT_EVENTS, DEFAULT_SETTLE_MS } from "../core/protocol/guest-protocol.js";
import { addVmCommands } from "./vm-commands.js";

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Sets the exit code the process ends with (commands that report rather than throw). */
  readonly setExitCode: (code: number) => void;
}

/** The options run and calibrate share. */
function addRunOptions(command: Command): Command {
  return addMachineOptions(command, "a kernel build to run (repeatable)")
    .option("--size <MiB>", "alloc_once size in MiB", "256")
    .option("--iterations <N>", "counted iterations", "10")
    .option("--warmup <N>", "warm-up iterations (run, recorded, not counted)", "0")
    .option("--rounds <N>", "boots per kernel x config, interleaved (default: min(iterations, 5))")
    .option("--seed <N>", "seed of the interleaved order (default: random, recorded)")
    .option("--huge", "hugetlb surplus pages (alloc_once SIZE huge), as `bench.sh SIZE N huge`")
    .option("--pages <mode>", "default | small (THP never) | thp (THP always) | hugetlb")
    .option(
      "--scenario <name>",
      "balloon scenario: none | page-reporting | inflate-deflate:MiB",
      "page-reporting",
    )
    .option("--guest-stats", "record guest memory statistics from the balloon after each iteration")
    .option(
      "--out <dir>",
      "results directory (new, or an unfinished one of the same plan: resumed)",
    )
    .option("--plan <file>", "a plan file (YAML or JSON) instead of the plan flags")
    .option("--skip-unsupported", "run the configs this QEMU can offer and list the others")
    .option("--shard <I/N>", "run slice I of N of the plan's cells (CI matrix)")
    .option("--events <list>", "perf events", DEFAULT_EVENTS.join(","))
    .option(
      "--settle <ms>",
      "wait before each iteration when the kernel has no page_reporting flush parameter",
      String(DEFAULT_SETTLE_MS),
    )
    .option(
      "--balloon-module <path>",
      "a virtio_balloon.ko to insmod in place of the kernel's (as bench.sh does)",
    );
}

/** The command table; each action imports its command lazily so `--help` stays fast. */
export function buildProgram(io: CliIo): Command {
  const program = new Command("balloon-bench")
    .description("Benchmark what virtio-balloon feature bits (6, 7) do to guest memory performance")
    .version(TOOL_VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    // Set before the subcommands are added so they inherit it: main() maps parse errors to exit 2.
    .exitOverride();

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
      const propertyMap = parsePropertyMapOverrides(options.map);
      const { probeQemu } = await import("../machine/probe.js");
      const report = await probeQemu({ qemu: options.qemu, propertyMap });
      io.stdout(
        options.json === true
          ? `${JSON.stringify(report, null, 2)}\n`
          : `${renderProbeTable(report)}\n`,
      );
    });

  program
    .command("doctor")
    .description("check QEMU, accelerators, image-building tools, disk space and the cache")
    .option("--qemu <path>", "QEMU binary (default: qemu-system-x86_64 on PATH)")
    .option("--json", "print the checks as JSON")
    .action(async (options: { qemu?: string; json?: boolean }) => {
      const { runDoctor } = await import("../machine/doctor.js");
      const checks = await runDoctor({ qemu: options.qemu });
      io.stdout(
        options.json === true
          ? `${JSON.stringify({ checks }, null, 2)}\n`
          : `${renderDoctor(checks)}\n`,
      );
      io.setExitCode(doctorExitCode(checks));
    });

  addRunOptions(
    program
      .command("run")
      .description(
        "boot guests and run alloc_once under perf stat, following the series' bench.sh",
      ),
  ).action(async (options: RunCliOptions, command: Command) => {
    const { runCommand } = await import("./run-command.js");
    await runCommand(options, explicitOptions(command), io);
  });

  addRunOptions(
    program
      .command("calibrate")
      .description(
        "A/A experiment: one kernel and config twice; writes the noise floor per metric",
      ),
  ).action(async (options: RunCliOptions, command: Command) => {
    const { calibrateCommand } = await import("./calibrate-command.js");
    await calibrateCommand(options, explicitOptions(command), io);
  });

  const image = program
    .command("image")
    .description("the guest image (Debian bookworm, sshd, perf; cached by recipe hash)");
  image
    .command("build")
    .description("build the guest image now (runs build it when missing)")
    .option("--force", "rebuild even when the cached image matches the recipe")
    .action(async (options: { force?: boolean }) => {
      const { ensureGuestImage } = await import("../machine/image/guest-image.js");
      const { cacheDir } = await import("../util/paths.js");
      const built = await ensureGuestImage(cacheDir(), {
        force: options.force === true,
        progress: (m) => io.stderr(`${m}\n`),
      });
      io.stdout(
        `${built.built ? "built" : "up to date"}: ${built.basePath} (recipe ${built.hash.slice(0, 16)})\n`,
      );
    });

  program
    .command("import <file>")
    .description("add a perf CSV from a hand-run bench.sh to a results directory")
    .requiredOption("--kernel <name>", "label of the kernel build the CSV was measured on")
    .requiredOption("--config <name>", "label of the balloon feature configuration")
    .option("--workload <name>", "workload label", "alloc_once-256M")
    .requiredOption("--out <dir>", "results directory (created if missing)")
    .option(
      "--accel <name>",
      "accelerator the CSV was measured under (kvm or tcg), recorded",
      "unknown",
    )
    .action(async (file: string, options: ImportCliOptions) => {
      const { importCommand } = await import("./import-command.js");
      await importCommand(file, options, io);
    });

  program
    .command("compare <dirs...>")
    .description(
      "compare kernel builds and feature configs across results directories, with CI gates",
    )
    .option(
      "--baseline <kernel=NAME|config=NAME>",
      "what candidates are compared against (default: the first kernel, or the first config)",
    )
    .option("--format <text|md|json|junit|html>", "output format", "text")
    .option("--out <file>", "write the report to a file instead of stdout")
    .option("--fail-on-regression <pct>", "exit 1 when a significant regression exceeds PCT %")
    .addOption(
      new Option(
        "--expect-improvement <metric:pct>",
        "exit 1 unless METRIC significantly improves by at least PCT % (repeatable)",
      )
        .argParser(collect)
        .default([] as string[]),
    )
    .addOption(
      new Option(
        "--direction <metric=lower|higher>",
        "which way is better for a metric (default: lower)",
      )
        .argParser(collect)
        .default([] as string[]),
    )
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
    .action(async (dirs: string[], options: CompareCliOptions) => {
      const { compareCommand } = await import("./compare-command.js");
      await compareCommand(dirs, options, io);
    });

  program
    .command("merge <dirs...>")
    .description("combine the shard directories of one plan (run --shard I/N) into one")
    .requiredOption("--out <dir>", "the merged results directory (new)")
    .action(async (dirs: string[], options: { out: string }) => {
      const { mergeShardDirs } = await import("../experiment/merge.js");
      const merged = await mergeShardDirs(dirs, options.out);
      io.stdout(`merged ${dirs.length} shards, ${merged.cells} cells: ${options.out}\n`);
      if (merged.incomplete.length > 0) {
        io.stdout(
          `incomplete cells (failed or unfinished in their shard): ${merged.incomplete.join(", ")}\n`,
        );
      }
    });

  addVmCommands(program, io);
  return program;
}

export interface RunCliOptions {
  kernel: string[];
  size: string;
  iterations: string;
  warmup: string;
  rounds?: string;
  seed?: string;
  huge?: boolean;
  pages?: string;
  scenario: string;
  guestStats?: boolean;
  plan?: string;
  skipUnsupported?: boolean;
  shard?: string;
  accel: string;
  qemu?: string;
  out?: string;
  events: string;
  features: string;
  map: string[];
  memory: string;
  vcpus: string;
  bootTimeout: string;
  settle: string;
  balloonModule?: string;
}

export interface ImportCliOptions {
  kernel: string;
  config: string;
  workload: string;
  out: string;
  accel: string;
}
