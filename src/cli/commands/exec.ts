import { UsageError } from "../../core/errors.js";
import { DEFAULT_VM_NAME, parseVmName } from "../../live/live-paths.js";
import { openLiveVm, withLiveSsh } from "../../live/live-vm.js";
import { exitCodeOf } from "../exit-codes.js";
import type { CliIo } from "../io.js";

/**
 * Commander drops the first `--` from the operands; the raw argv says where it was, so
 * `exec -- ls vm1` runs `ls vm1` in the default VM while `exec vm1 -- ls` runs `ls` in vm1.
 */
export function splitAtDoubleDash(
  words: readonly string[],
  rawArgs: readonly string[],
): { name: string; argv: string[] } {
  const dash = rawArgs.indexOf("--");
  const usage = "write the command after --, e.g. balloon-bench exec [NAME] -- uname -r";
  if (dash === -1) throw new UsageError("exec needs -- before the guest command", { hint: usage });
  const count = rawArgs.length - dash - 1;
  const argv = words.slice(words.length - count);
  const before = words.slice(0, words.length - count);
  if (argv.length === 0) throw new UsageError("exec needs a command after --", { hint: usage });
  if (before.length > 1) {
    throw new UsageError(`exec takes one VM name before --, got '${before.join(" ")}'`, {
      hint: usage,
    });
  }
  return { name: parseVmName(before[0] ?? DEFAULT_VM_NAME), argv };
}

/** `balloon-bench exec [NAME] -- CMD...`: output streamed, the command's exit code returned. */
export async function execCommand(name: string, argv: string[], io: CliIo): Promise<void> {
  const vm = await openLiveVm(name);
  // Raw bytes straight to our stdout/stderr: decoding chunks could split UTF-8 sequences.
  const exit = await withLiveSsh(vm, (ssh) =>
    ssh.execStreaming(argv, {
      stdout: (chunk) => process.stdout.write(chunk),
      stderr: (chunk) => process.stderr.write(chunk),
      // A terminal is not forwarded (it would wait for Ctrl-D); a pipe or file is.
      stdin: process.stdin.isTTY ? undefined : process.stdin,
    }),
  );
  io.setExitCode(exitCodeOf(exit));
}
