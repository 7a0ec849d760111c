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

describe("layer boundaries @lint", function () {
  this.timeout(120_000);

  it("refuse I/O, process and upper layers in src/core, and upper layers in src/machine", async () => {
    const { ESLint } = await import("eslint");
    const tseslint = (await import("typescript-eslint")).default;
    const { layers } = (await import(`${root}/eslint.layers.js`)) as { layers: object[] };
    // The project's own boundary blocks, on a parser without type information (the canaries
    // are not files of the project).
    const eslint = new ESLint({
      cwd: root,
      overrideConfigFile: true,
      overrideConfig: [
        { files: ["**/*.ts"], languageOptions: { parser: tseslint.parser } },
        ...layers,
      ],
    });
    const lint = async (file: string, text: string): Promise<string[]> =>
      (await eslint.lintText(text, { filePath: `${root}/${file}` }))
        .flatMap((r) => r.messages)
        .filter((m) => m.ruleId?.startsWith("no-restricted") === true)
        .map((m) => m.message);
    const core = await lint(
      "src/core/plan/canary.ts",
      'import { readFileSync } from "node:fs";\nimport { ResultsDir } from "../../experiment/results-dir.js";\nexport const x = (): unknown => [readFileSync, ResultsDir, process.pid];\n',
    );
    expect(core).to.have.length(3);
    expect(core.join("\n"))
      .to.contain("'node:fs' import is restricted")
      .and.contain("does not touch process");
    const machine = await lint(
      "src/machine/canary.ts",
      'import { runExperiment } from "../experiment/run-experiment.js";\nexport const y = runExperiment;\n',
    );
    expect(machine).to.have.length(1);
    expect(machine[0]).to.contain("src/machine sits below the experiment, live and cli layers");
  });
});
