import { readFile } from "node:fs/promises";
import { execa } from "execa";
import { EnvironmentError, UsageError } from "../../core/errors.js";
import { compilerIdentity, sha256Hex, type ConfigInputs } from "../../core/kernel/build-key.js";
import {
  BUILD_DEPENDENCIES,
  missingDependenciesHint,
  type KernelBuildRequest,
} from "../../core/kernel/kernel-build-plan.js";
import { describeDefaultRecipe, type ConfigInput } from "../../core/kernel/kernel-config.js";
import { parseMbox, type MboxPatch } from "../../core/kernel/mbox.js";
import { inspectSource, readPatchFiles, type InspectedSource } from "./kernel-source-tree.js";
import { pathExists } from "../../util/path-exists.js";

/** The request read and checked: every usage error comes from here, before anything slow. */
export interface CheckedBuildInputs {
  readonly source: InspectedSource;
  readonly patches: readonly MboxPatch[];
  readonly configInputs: readonly ConfigInput[];
  readonly configIds: ConfigInputs;
}

async function readSeries(paths: readonly string[]): Promise<MboxPatch[]> {
  const patches: MboxPatch[] = [];
  for (const file of await readPatchFiles(paths)) {
    const found = parseMbox(file.text, patches.length + 1);
    if (found.length === 0) {
      throw new UsageError(`'${file.path}' holds no patch (no diff in any message)`, {
        hint: "pass an mbox of patches, as `b4 am` or `git format-patch --stdout` writes it",
      });
    }
    patches.push(...found);
  }
  return patches;
}

async function readConfigText(path: string, kind: "config" | "fragment"): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new UsageError(`kernel ${kind} '${path}' cannot be read`, {
      hint:
        kind === "config"
          ? "pass a .config file to --config"
          : "pass a file of CONFIG_X=y lines to --fragment",
    });
  }
}

async function readConfigInputs(
  config: string | undefined,
  fragments: readonly string[],
): Promise<{ inputs: ConfigInput[]; ids: ConfigInputs }> {
  const inputs: ConfigInput[] = [];
  if (config !== undefined)
    inputs.push({ kind: "config", label: config, text: await readConfigText(config, "config") });
  for (const f of fragments)
    inputs.push({ kind: "fragment", label: f, text: await readConfigText(f, "fragment") });
  const base: ConfigInputs["base"] =
    config === undefined
      ? { kind: "default", recipe: describeDefaultRecipe() }
      : { kind: "config", sha256: sha256Hex(inputs[0]?.text ?? "") };
  return {
    inputs,
    ids: {
      base,
      fragments: inputs.filter((i) => i.kind === "fragment").map((i) => sha256Hex(i.text)),
    },
  };
}

/** Reads the tree, the series and the config inputs; a bad one is a one-line usage error. */
export async function checkBuildInputs(request: KernelBuildRequest): Promise<CheckedBuildInputs> {
  const source = await inspectSource(request.tree, request.ref);
  const patches = await readSeries(request.patches ?? []);
  const { inputs, ids } = await readConfigInputs(request.config, request.fragments ?? []);
  return { source, patches, configInputs: inputs, configIds: ids };
}

export async function hasCommand(name: string): Promise<boolean> {
  const result = await execa("sh", ["-c", 'command -v "$1"', "sh", name], { reject: false });
  return result.exitCode === 0;
}

/** make, gcc, flex, bison, libelf and OpenSSL headers...: a missing one names its package. */
export async function checkBuildDependencies(): Promise<void> {
  const missing: string[] = [];
  for (const dep of BUILD_DEPENDENCIES) {
    const ok = dep.kind === "command" ? await hasCommand(dep.name) : await pathExists(dep.name);
    if (!ok) missing.push(dep.name);
  }
  const hint = missingDependenciesHint(missing);
  if (hint !== undefined) {
    throw new EnvironmentError(
      `building a kernel needs ${missing.join(", ")}, not found on this host`,
      { hint },
    );
  }
}

/** gcc's and ld's first version lines. ccache does not change the output: not part of it. */
export async function detectCompiler(): Promise<string> {
  const cc = await execa("gcc", ["--version"], { reject: false });
  const ld = await execa("ld", ["--version"], { reject: false });
  return compilerIdentity(String(cc.stdout), String(ld.stdout));
}
