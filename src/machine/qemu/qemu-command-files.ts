import { join } from "node:path";
import {
  QEMU_ARGV_FILE,
  QEMU_COMMAND_FILE,
  qemuArgvJson,
  qemuCommandScript,
} from "../../core/qemu/qemu-command.js";
import { writeFileAtomic } from "../../util/atomic-file.js";

/** Writes qemu-argv.json and qemu-command.sh into a boot's log folder (before QEMU starts). */
export async function writeQemuCommandFiles(
  logDir: string,
  command: readonly string[],
): Promise<void> {
  await writeFileAtomic(join(logDir, QEMU_ARGV_FILE), qemuArgvJson(command));
  await writeFileAtomic(join(logDir, QEMU_COMMAND_FILE), qemuCommandScript(command));
}
