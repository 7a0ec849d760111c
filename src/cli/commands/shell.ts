import { runInteractiveShell } from "../../live/interactive-shell.js";
import { parseVmName } from "../../live/live-paths.js";
import { openLiveVm, withLiveSsh } from "../../live/live-vm.js";
import { exitCodeOf } from "../exit-codes.js";
import type { CliIo } from "../io.js";

/** `balloon-bench shell [NAME]`: an interactive shell on a real terminal in the guest. */
export async function shellCommand(name: string, io: CliIo): Promise<void> {
  const vm = await openLiveVm(parseVmName(name));
  const exit = await withLiveSsh(vm, (ssh) =>
    runInteractiveShell(ssh, {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
    }),
  );
  io.setExitCode(exitCodeOf(exit));
}
