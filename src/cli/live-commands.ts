import type { Command } from "commander";
import { addMachineOptions, explicitOptions } from "./options.js";
import { DEFAULT_VM_NAME } from "../live/live-paths.js";
import type { ProfileCliOptions } from "./commands/profile.js";
import type { UpCliOptions } from "./commands/up.js";
import type { CliIo } from "./io.js";

/** The argv the program parsed (commander keeps it, untyped, as rawArgs), with `--` still in it. */
function rawArgsOf(command: Command): readonly string[] {
  const parsed = (command.parent as { rawArgs?: unknown } | null)?.rawArgs;
  return Array.isArray(parsed) ? (parsed as string[]) : process.argv;
}

/**
 * The live-VM commands for manual investigation: up, down, ls, shell, exec, balloon, qmp,
 * profile, features. Each action imports its implementation lazily so `--help` stays fast.
 */
export function addVmCommands(program: Command, io: CliIo): void {
  for (const add of [
    addUpCommand,
    addDownCommand,
    addLsCommand,
    addShellCommand,
    addExecCommand,
    addBalloonCommand,
    addQmpCommand,
    addProfileCommand,
    addFeaturesCommand,
  ])
    add(program, io);
}

function addUpCommand(program: Command, io: CliIo): void {
  addMachineOptions(program.command("up"), "the kernel build to boot (at most one)")
    .description(
      "boot a VM like `run` does and keep it running in the background for manual investigation",
    )
    .option("--name <NAME>", "name of the VM", DEFAULT_VM_NAME)
    .option(
      "--plan <file>",
      "take the kernel and balloon config from a plan file, as `run` boots it",
    )
    .option("--config <name>", "with --plan: which feature config (needed when it has several)")
    .option("--plan-kernel <name>", "with --plan: which kernel (needed when it has several)")
    .option(
      "--balloon-module <path>",
      "a virtio_balloon.ko to insmod in place of the kernel's, as `run` does (plan: balloonModule)",
    )
    .action(async (options: UpCliOptions, command: Command) => {
      const { upCommand } = await import("./commands/up.js");
      await upCommand(options, explicitOptions(command), io);
    });
}

function addDownCommand(program: Command, io: CliIo): void {
  program
    .command("down [name]")
    .description("stop a live VM (QMP quit, then SIGTERM, then SIGKILL) and remove its state")
    .option("--quit-timeout <s>", "how long QEMU has to obey QMP quit before SIGTERM", "10")
    .action(async (name: string | undefined, options: { quitTimeout: string }) => {
      const { downCommand } = await import("./commands/down.js");
      await downCommand(name ?? DEFAULT_VM_NAME, options, io);
    });
}

function addLsCommand(program: Command, io: CliIo): void {
  program
    .command("ls")
    .description("list live VMs; removes the state of VMs whose QEMU has exited")
    .option("--json", "print the recorded state of each live VM as JSON")
    .action(async (options: { json?: boolean }) => {
      const { lsCommand } = await import("./commands/ls.js");
      await lsCommand(options, io);
    });
}

function addShellCommand(program: Command, io: CliIo): void {
  program
    .command("shell [name]")
    .description(
      "an interactive shell in the guest (a real terminal: resize, Ctrl-C reach the guest)",
    )
    .action(async (name: string | undefined) => {
      const { shellCommand } = await import("./commands/shell.js");
      await shellCommand(name ?? DEFAULT_VM_NAME, io);
    });
}

function addExecCommand(program: Command, io: CliIo): void {
  program
    .command("exec")
    .usage("[name] -- CMD [ARGS...]")
    .argument("[name-and-command...]", "the VM name (optional), then -- and the command")
    .description("run one command in the guest, streaming its output; exits with its exit code")
    .action(async (words: string[], _options: unknown, command: Command) => {
      const { execCommand, splitAtDoubleDash } = await import("./commands/exec.js");
      const { name, argv } = splitAtDoubleDash(words, rawArgsOf(command));
      await execCommand(name, argv, io);
    });
}

function addBalloonCommand(program: Command, io: CliIo): void {
  program
    .command("balloon")
    .usage("[name] set SIZE | status | stats")
    .argument(
      "<words...>",
      "optional VM name, then: set SIZE (e.g. 768M, 1.5G; plain = MiB), status or stats",
    )
    .option("--timeout <s>", "how long `set` waits for the balloon to reach the target", "120")
    .description(
      "move the balloon and wait until it gets there, show `actual`, or guest memory statistics",
    )
    .action(async (words: string[], options: { timeout: string }) => {
      const { balloonCommand } = await import("./commands/balloon.js");
      await balloonCommand(words, options, io);
    });
}

function addQmpCommand(program: Command, io: CliIo): void {
  program
    .command("qmp")
    .usage("[name] COMMAND [JSON-ARGS] | [name] --events")
    .argument("[words...]", "optional VM name, the QMP command, its arguments as a JSON object")
    .option("--events", "print QMP events as they come (one JSON line each) until Ctrl-C")
    .description("send one raw QMP command and pretty-print the reply, or follow events")
    .action(async (words: string[], options: { events?: boolean }) => {
      const { qmpCommand } = await import("./commands/qmp.js");
      await qmpCommand(words, options, io);
    });
}

function addProfileCommand(program: Command, io: CliIo): void {
  program
    .command("profile [name]")
    .description(
      "run alloc_once under `perf record -g` in the guest; copy perf.data back and print the top entries",
    )
    .requiredOption("--size <MiB>", "alloc_once size in MiB")
    .option("--huge", "hugetlb surplus pages (alloc_once SIZE huge)")
    .option(
      "--event <event>",
      "perf event to sample (cpu-clock when the guest has no PMU)",
      "cycles",
    )
    .option(
      "--out <dir>",
      "where perf.data and the files to read it go (default: profiles/NAME-TIME)",
    )
    .option("--top <N>", "how many `perf report` lines to print", "20")
    .action(async (name: string | undefined, options: ProfileCliOptions) => {
      const { profileCommand } = await import("./commands/profile.js");
      await profileCommand(name ?? DEFAULT_VM_NAME, options, io);
    });
}

function addFeaturesCommand(program: Command, io: CliIo): void {
  program
    .command("features [name]")
    .description("balloon feature bits of a live VM: requested, offered by the device, negotiated")
    .option("--json", "print them as JSON")
    .action(async (name: string | undefined, options: { json?: boolean }) => {
      const { featuresCommand } = await import("./commands/features.js");
      await featuresCommand(name ?? DEFAULT_VM_NAME, options, io);
    });
}
