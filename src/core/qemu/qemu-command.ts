import { shellCommand } from "../protocol/shell-quote.js";

/** The files next to a boot's logs that let a user rerun it by hand. */
export const QEMU_ARGV_FILE = "qemu-argv.json";
export const QEMU_COMMAND_FILE = "qemu-command.sh";

/** Pure: the exact argv (binary first) as a JSON array, one element per line. */
export function qemuArgvJson(command: readonly string[]): string {
  return `${JSON.stringify(command, null, 2)}\n`;
}

/**
 * Pure: the command as one copy-pasteable shell line, each argument quoted by shellQuote, after
 * comments saying what to recreate: the overlay and sockets lived in private temporary folders.
 */
export function qemuCommandScript(command: readonly string[]): string {
  return [
    "#!/bin/sh",
    "# The exact QEMU command line of this boot (balloon-bench; argv in qemu-argv.json).",
    "# The root overlay (root.qcow2), QMP socket and pidfile were in private temporary folders",
    "# that are gone: recreate the overlay with `qemu-img create -f qcow2 -b BASE -F raw PATH`",
    "# (BASE: the guest image in ~/.cache/balloon-bench/images) or edit the paths, then run:",
    shellCommand(command),
    "",
  ].join("\n");
}
