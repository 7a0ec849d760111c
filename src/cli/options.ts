import { Command, Option } from "commander";
import type { Direction } from "../core/compare/verdict.js";
import { UsageError } from "../core/errors.js";
import { DEFAULT_EVENTS, HANG_TIMEOUT_MS, PLAN_DEFAULTS } from "../core/plan/plan-defaults.js";
import type { PlanFlagValues } from "../core/plan/plan-flags.js";

/** Commander's accumulator for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * --direction, for compare, validate and history changes: declared once so that its help text and
 * its METRIC=lower|higher syntax (parseDirection) cannot drift apart between the commands.
 */
export function directionOption(): Option {
  return new Option(
    "--direction <metric=lower|higher>",
    "which way is better for a metric (default: lower)",
  )
    .argParser(collect)
    .default([] as string[]);
}

/** One --direction value as [metric, direction]. */
export function parseDirection(value: string): [string, Direction] {
  const match = /^([A-Za-z0-9_.:/-]+)=(lower|higher)$/.exec(value.trim());
  if (match?.[1] === undefined)
    throw new UsageError(`malformed --direction '${value}'`, {
      hint: "write METRIC=lower or METRIC=higher",
    });
  return [match[1], match[2] as Direction];
}

/** Options that describe the VM itself, shared by run, calibrate and up so they cannot drift. */
export function addMachineOptions(command: Command, kernelHelp: string): Command {
  return command
    .addOption(
      new Option("--kernel <NAME=PATH[,modules=DIR][,cmdline=ARGS]>", kernelHelp)
        .argParser(collect)
        .default([] as string[], "Debian's stock kernel"),
    )
    .option(
      "--features <bits>",
      "balloon feature bits to offer, by number or name (e.g. 5,6)",
      PLAN_DEFAULTS.bits.join(","),
    )
    .addOption(
      new Option("--map <bit=property>", "map a feature bit to a QEMU property (repeatable)")
        .argParser(collect)
        .default([] as string[]),
    )
    .option("--memory <MiB>", "guest memory", String(PLAN_DEFAULTS.memoryMiB))
    .option("--vcpus <N>", "guest vCPUs", String(PLAN_DEFAULTS.vcpus))
    .option("--accel <kvm|tcg|auto>", "accelerator", PLAN_DEFAULTS.accel)
    .option("--qemu <path>", "QEMU binary (default: qemu-system-x86_64 on PATH)")
    .option(
      "--pin <CPUS>",
      "pin vCPU i to the i-th host CPU of a list (e.g. 2-3); QEMU's other threads to the other CPUs",
    )
    .option(
      "--boot-timeout <s>",
      "seconds to wait for the guest's SSH",
      String(PLAN_DEFAULTS.bootTimeoutS),
    );
}

/** The options run and calibrate share: the plan flags, --plan, --out and the run's own. */
export function addRunOptions(command: Command): Command {
  return addMachineOptions(
    command,
    "a kernel build to run (repeatable); NAME=build:tree=DIR[,ref=REF][,patches=MBOX][,config=FILE][,fragment=FILE] builds it from source first (cached)",
  )
    .option("--size <MiB>", "alloc_once size in MiB", String(PLAN_DEFAULTS.sizeMiB))
    .option("--iterations <N>", "counted iterations", String(PLAN_DEFAULTS.iterations))
    .option(
      "--warmup <N>",
      "warm-up iterations (run, recorded, not counted)",
      String(PLAN_DEFAULTS.warmups),
    )
    .option(
      "--rounds <N>",
      "boots per kernel x config, interleaved (default: min(iterations, 10): the boot is the unit)",
    )
    .option("--seed <N>", "seed of the interleaved order (default: random, recorded)")
    .option(
      "--iteration-timeout <s>",
      "longest one iteration may take (default: 120 s + settle + 100 ms per MiB + balloon moves)",
    )
    .option(
      "--hang-timeout <s>",
      `seconds QEMU may not answer QMP during an iteration before the boot is given up (default: ${HANG_TIMEOUT_MS / 1000})`,
    )
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
      String(PLAN_DEFAULTS.settleMs),
    )
    .option(
      "--settle-mode <fixed|rss>",
      "fixed: sleep --settle ms in the guest (bench.sh); rss: until QEMU's RSS stops falling, at most --settle ms",
    )
    .option(
      "--balloon-module <path>",
      "a virtio_balloon.ko to insmod in place of the kernel's (as bench.sh does)",
    );
}

/** The options the user typed (not defaults), by attribute name. */
export function explicitOptions(command: Command): string[] {
  return command.options
    .map((o) => o.attributeName())
    .filter((name) => command.getOptionValueSource(name) === "cli");
}

export interface RunCliOptions extends PlanFlagValues {
  kernel: string[];
  map: string[];
  plan?: string;
  skipUnsupported?: boolean;
  shard?: string;
  qemu?: string;
  out?: string;
  /** Not a plan flag: it may go with --plan, over the plan's vm.pin. */
  pin?: string;
}
