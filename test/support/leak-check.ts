import { execa } from "execa";

/**
 * Root hook: after the whole suite, no QEMU started by the tool may remain. Every VM the
 * launcher starts has its QMP socket in a "bb-vm-" run directory, so its argv names it.
 */
export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    const result = await execa("pgrep", ["-af", "qemu-system.*bb-vm-"], { reject: false });
    const leaked = result.stdout.trim();
    if (leaked !== "") throw new Error(`QEMU processes outlived the test suite:\n${leaked}`);
  },
};
