import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { execa } from "execa";

const root = fileURLToPath(new URL("../..", import.meta.url));

// The linters run as tests so CI's pass/fail count includes them (qemu.qmp does the same).
describe("static checks @lint", function () {
  this.timeout(180_000);

  for (const [name, command, args] of [
    ["typecheck (tsc --noEmit, strict)", "npx", ["tsc", "-p", "tsconfig.json", "--noEmit"]],
    ["eslint (type-aware)", "npx", ["eslint", "."]],
    ["prettier --check", "npx", ["prettier", "--check", "."]],
  ] as const) {
    it(name, async () => {
      const result = await execa(command, args, { cwd: root, reject: false, all: true });
      expect(result.exitCode, result.all).to.equal(0);
    });
  }
});
