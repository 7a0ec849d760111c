import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

/**
 * Root hook: after the whole suite, no QEMU the suite started may remain. Every QEMU the tool
 * starts has its QMP socket in a run directory under the temp dir (or $XDG_RUNTIME_DIR), so the
 * suite gets a private one of each: its QEMUs name it in their argv, and a QEMU someone else runs
 * on the machine (a live VM of a user, another checkout's tests) is not mistaken for a leak.
 */
const suiteDir = mkdtempSync(join(tmpdir(), "bb-suite-"));
process.env["TMPDIR"] = suiteDir;
process.env["XDG_RUNTIME_DIR"] = suiteDir;

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    const result = await execa("pgrep", ["-af", "qemu-system"], { reject: false });
    const leaked = result.stdout
      .split("\n")
      .filter((line) => line.includes(suiteDir))
      .join("\n");
    if (leaked !== "") throw new Error(`QEMU processes outlived the test suite:\n${leaked}`);
    rmSync(suiteDir, { recursive: true, force: true });
  },
};
