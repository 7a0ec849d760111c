import { Command, Option } from "commander";

/** Commander's accumulator for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Options that describe the VM itself, shared by run, calibrate and up so they cannot drift. */
export function addMachineOptions(command: Command, kernelHelp: string): Command {
  return command
    .addOption(
      new Option("--kernel <NAME=PATH[,modules=DIR][,cmdline=ARGS]>", kernelHelp)
        .argParser(collect)
        .default([] as string[], "Debian's stock kernel"),
    )
    .option("--features <bits>", "balloon feature bits to offer, by number or name (e.g. 5,6)", "5")
    .addOption(
      new Option("--map <bit=property>", "map a feature bit to a QEMU property (repeatable)")
        .argParser(collect)
        .default([] as string[]),
    )
    .option("--memory <MiB>", "guest memory", "2048")
    .option("--vcpus <N>", "guest vCPUs", "2")
    .option("--accel <kvm|tcg|auto>", "accelerator", "auto")
    .option("--qemu <path>", "QEMU binary (default: qemu-system-x86_64 on PATH)")
    .option("--boot-timeout <s>", "seconds to wait for the guest's SSH", "120");
}

/** The options the user typed (not defaults), by attribute name. */
export function explicitOptions(command: Command): string[] {
  return command.options
    .map((o) => o.attributeName())
    .filter((name) => command.getOptionValueSource(name) === "cli");
}
