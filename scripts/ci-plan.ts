/**
 * Writes the plan a CI benchmark runs, from a checked-in template (plans/*.yaml) and the
 * workflow's inputs, and stages the kernels it names into one directory, so that every shard job
 * (on any runner with the same directory) runs the very same plan on the very same files.
 *
 * Usage:
 *   node --import tsx scripts/ci-plan.ts --template plans/nightly.yaml --dir DIR \
 *     --kernel NAME=SPEC [--kernel NAME=SPEC ...] [--artifacts DIR] [--iterations N] \
 *     [--accel kvm|tcg|auto] [--config NAME=BITS] [--workload NAME] [--events LIST]
 *
 * Writes DIR/plan.yaml and DIR/kernels/NAME/{bzImage,modules}. Kernel SPEC forms:
 *   debian:FLAVOUR                   Debian's current kernel of that flavour (run fetches it)
 *   builtin                          scripts/build-builtin-kernel.sh (cached on the runner in
 *                                    $BB_BUILTIN_KERNEL_DIR, default ~/.cache/balloon-bench-test-kernels)
 *   artifact:NAME                    a workflow artifact already downloaded to ARTIFACTS/NAME (--artifacts,
 *                                    default ./kernel-artifacts): a
 *                                    kernel image (bzImage, or a single vmlinuz*) and optionally
 *                                    modules/ (a `make modules_install INSTALL_MOD_PATH=` tree)
 *   PATH                             a bzImage/vmlinuz on this machine
 * each optionally followed by `,modules=DIR` and then `,cmdline=ARGS` (the rest of the value), as
 * in `balloon-bench run --kernel`. Values arrive as arguments, never as shell text.
 * `--config NAME=BITS` replaces the template's configs with one (e.g. `init-reported=5,6`);
 * `--workload NAME` keeps only that workload of the template. Exit 2 on bad input.
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  lstatSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse, stringify } from "yaml";

import { UsageError } from "../src/core/errors.js";
import { parseKernelSpec } from "../src/core/plan/kernel-spec.js";
import { parsePlanText } from "../src/core/plan/plan-text.js";

/** A kernel input of the CI workflows: the `run --kernel` syntax with CI-only sources. */
export type CiKernel = {
  name: string;
  source:
    | { kind: "debian"; flavour: string }
    | { kind: "builtin" }
    | { kind: "artifact"; artifact: string }
    | { kind: "path"; path: string };
  modules?: string;
  cmdline?: string;
};

/** Bad input to the script: exit 2 with one line, like the tool's own usage errors. */
export class PlanInputError extends UsageError {}

/**
 * Parses `NAME=SPEC` as described in the header: NAME, modules= and cmdline= exactly as
 * `run --kernel` reads them (one parser), then the SPEC forms only CI knows. Pure.
 */
export function parseKernelArg(arg: string): CiKernel {
  let parsed;
  try {
    parsed = parseKernelSpec(arg);
  } catch (error) {
    if (error instanceof UsageError) throw new PlanInputError(`kernel '${arg}': ${error.message}`);
    throw error;
  }
  const { name, kernelPath: rest } = parsed;
  const spec: Partial<CiKernel> = { name };
  if (parsed.cmdline.length > 0) spec.cmdline = parsed.cmdline.join(" ");
  if (parsed.modulesDir !== undefined) spec.modules = parsed.modulesDir;
  if (rest.startsWith("debian:")) {
    const flavour = rest.slice("debian:".length);
    if (!/^[a-z0-9][a-z0-9-]*$/.test(flavour)) {
      throw new PlanInputError(
        `kernel '${name}': bad Debian flavour '${flavour}' (e.g. debian:amd64)`,
      );
    }
    spec.source = { kind: "debian", flavour };
  } else if (rest === "builtin") {
    spec.source = { kind: "builtin" };
  } else if (rest.startsWith("artifact:")) {
    const artifact = rest.slice("artifact:".length);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(artifact)) {
      throw new PlanInputError(`kernel '${name}': bad artifact name '${artifact}'`);
    }
    spec.source = { kind: "artifact", artifact };
  } else {
    spec.source = { kind: "path", path: rest };
  }
  return spec as CiKernel;
}

/** Parses `NAME=BITS` (bits comma-separated numbers, e.g. `init-reported=5,6`). Pure. */
export function parseConfigArg(arg: string): { name: string; bits: number[] } {
  const match = /^([a-z0-9][a-z0-9._-]*)=(\d+(?:,\d+)*)$/.exec(arg.replace(/\s+/g, ""));
  if (match === null) {
    throw new PlanInputError(`config '${arg}': expected NAME=BITS, e.g. init-reported=5,6`);
  }
  const bits = match[2]!.split(",").map(Number);
  if (bits.some((b) => b > 63)) throw new PlanInputError(`config '${arg}': bits are 0-63`);
  return { name: match[1]!, bits };
}

export type PlanOverrides = {
  kernels: { name: string; path: string; modules?: string; cmdline?: string }[];
  iterations?: number;
  accelerator?: string;
  config?: { name: string; bits: number[] };
  workload?: string;
  events?: string[];
};

/** The template with the overrides applied; only the fields named in the header change. Pure. */
export function buildPlan(template: unknown, overrides: PlanOverrides): Record<string, unknown> {
  if (typeof template !== "object" || template === null || Array.isArray(template)) {
    throw new PlanInputError("the plan template is not a YAML mapping");
  }
  const plan = structuredClone(template) as Record<string, unknown>;
  if (overrides.kernels.length === 0) throw new PlanInputError("no kernels");
  plan.kernels = overrides.kernels;
  if (overrides.iterations !== undefined) {
    if (!Number.isInteger(overrides.iterations) || overrides.iterations < 1) {
      throw new PlanInputError(`iterations must be a positive integer`);
    }
    plan.iterations = overrides.iterations;
    // Fewer iterations than the template's rounds: one iteration per boot, not an invalid plan.
    if (typeof plan.rounds === "number" && plan.rounds > overrides.iterations) {
      plan.rounds = overrides.iterations;
    }
  }
  if (overrides.accelerator !== undefined) {
    if (!["kvm", "tcg", "auto"].includes(overrides.accelerator)) {
      throw new PlanInputError(`accelerator '${overrides.accelerator}': expected kvm, tcg or auto`);
    }
    plan.accelerator = overrides.accelerator;
  }
  if (overrides.config !== undefined) plan.configs = [overrides.config];
  if (overrides.workload !== undefined) {
    const workloads = Array.isArray(plan.workloads) ? (plan.workloads as unknown[]) : [];
    const chosen = workloads.filter(
      (w) =>
        typeof w === "object" &&
        w !== null &&
        (w as { name?: unknown }).name === overrides.workload,
    );
    if (chosen.length === 0) {
      const names = workloads.map((w) => String((w as { name?: unknown }).name)).join(", ");
      throw new PlanInputError(
        `workload '${overrides.workload}' is not in the template (it has: ${names})`,
      );
    }
    plan.workloads = chosen;
  }
  if (overrides.events !== undefined) {
    if (
      overrides.events.length === 0 ||
      overrides.events.some((e) => !/^[A-Za-z0-9_.:/-]+$/.test(e))
    ) {
      throw new PlanInputError(`events must be a comma-separated list of perf event names`);
    }
    plan.events = overrides.events;
  }
  return plan;
}

/** The kernel image inside an unpacked artifact: bzImage, or the only vmlinuz*. */
function kernelImageIn(dir: string): string {
  if (existsSync(join(dir, "bzImage"))) return join(dir, "bzImage");
  const images = readdirSync(dir).filter((n) => n.startsWith("vmlinuz"));
  if (images.length !== 1) {
    throw new PlanInputError(
      `artifact ${dir}: expected a bzImage or one vmlinuz* file, found ${images.length}`,
    );
  }
  return join(dir, images[0]!);
}

/** Stages one kernel into DIR/kernels/NAME and returns its plan entry. */
function stageKernel(
  spec: CiKernel,
  dir: string,
  artifacts: string,
): PlanOverrides["kernels"][number] {
  const entry = (path: string, modules?: string) => ({
    name: spec.name,
    path,
    ...(modules !== undefined ? { modules } : {}),
    ...(spec.cmdline !== undefined ? { cmdline: spec.cmdline } : {}),
  });
  if (spec.source.kind === "debian") {
    if (spec.modules !== undefined)
      throw new PlanInputError(`kernel '${spec.name}': debian: kernels bring their own modules`);
    return entry(`debian:${spec.source.flavour}`);
  }
  let image: string;
  let modules = spec.modules;
  if (spec.source.kind === "builtin") {
    const out =
      process.env.BB_BUILTIN_KERNEL_DIR ?? join(homedir(), ".cache", "balloon-bench-test-kernels");
    execFileSync(
      "bash",
      [fileURLToPath(new URL("build-builtin-kernel.sh", import.meta.url)), out],
      {
        stdio: ["ignore", "inherit", "inherit"],
      },
    );
    image = join(out, "bzImage-builtin");
  } else if (spec.source.kind === "artifact") {
    const unpacked = join(artifacts, spec.source.artifact);
    if (!existsSync(unpacked))
      throw new PlanInputError(
        `artifact '${spec.source.artifact}' was not downloaded to ${unpacked}`,
      );
    image = kernelImageIn(unpacked);
    if (modules === undefined && existsSync(join(unpacked, "modules")))
      modules = join(unpacked, "modules");
  } else {
    image = resolve(spec.source.path);
  }
  if (!existsSync(image) || !statSync(image).isFile())
    throw new PlanInputError(`kernel '${spec.name}': no file ${image}`);
  const target = join(dir, "kernels", spec.name);
  mkdirSync(target, { recursive: true });
  cpSync(image, join(target, "bzImage"));
  if (modules === undefined) return entry(join(target, "bzImage"));
  if (!existsSync(modules) || !statSync(modules).isDirectory())
    throw new PlanInputError(`kernel '${spec.name}': no directory ${modules}`);
  // Not the build/source links of `make modules_install` into the kernel tree: uploading the
  // staged directory as an artifact would follow them.
  cpSync(resolve(modules), join(target, "modules"), {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) =>
      !(/\/lib\/modules\/[^/]+\/(build|source)$/.test(src) && lstatSync(src).isSymbolicLink()),
  });
  return entry(join(target, "bzImage"), join(target, "modules"));
}

function main(): number {
  const { values } = parseArgs({
    options: {
      template: { type: "string" },
      dir: { type: "string" },
      kernel: { type: "string", multiple: true },
      artifacts: { type: "string" },
      iterations: { type: "string" },
      accel: { type: "string" },
      config: { type: "string" },
      workload: { type: "string" },
      events: { type: "string" },
    },
  });
  try {
    if (values.template === undefined || values.dir === undefined) {
      throw new PlanInputError("--template and --dir are required");
    }
    const dir = resolve(values.dir);
    const specs = (values.kernel ?? []).map(parseKernelArg);
    const names = specs.map((s) => s.name);
    if (new Set(names).size !== names.length)
      throw new PlanInputError(`duplicate kernel names: ${names.join(", ")}`);
    const template: unknown = parse(readFileSync(values.template, "utf8"));
    const blank = (v: string | undefined) =>
      v === undefined || v.trim() === "" ? undefined : v.trim();
    const iterations = blank(values.iterations);
    if (iterations !== undefined && !/^\d+$/.test(iterations))
      throw new PlanInputError(`iterations '${iterations}' is not a number`);
    const config = blank(values.config);
    const events = blank(values.events);
    const overrides: Omit<PlanOverrides, "kernels"> = {
      ...(iterations !== undefined ? { iterations: Number(iterations) } : {}),
      ...(blank(values.accel) !== undefined ? { accelerator: blank(values.accel)! } : {}),
      ...(config !== undefined ? { config: parseConfigArg(config) } : {}),
      ...(blank(values.workload) !== undefined ? { workload: blank(values.workload)! } : {}),
      ...(events !== undefined ? { events: events.split(",").map((e) => e.trim()) } : {}),
    };
    // Validate everything pure before any kernel build or copy.
    buildPlan(template, { ...overrides, kernels: specs.map((s) => ({ name: s.name, path: "-" })) });
    mkdirSync(dir, { recursive: true });
    const kernels = specs.map((s) =>
      stageKernel(s, dir, resolve(values.artifacts ?? "kernel-artifacts")),
    );
    const text = stringify(buildPlan(template, { ...overrides, kernels }));
    // The very parser `run --plan` uses: a plan it would refuse fails here, before any shard starts.
    try {
      parsePlanText(text, "plan.yaml", dir);
    } catch (error) {
      if (error instanceof UsageError) throw new PlanInputError(error.message);
      throw error;
    }
    writeFileSync(join(dir, "plan.yaml"), text);
    process.stdout.write(`ci-plan: wrote ${join(dir, "plan.yaml")}:\n${text}`);
    return 0;
  } catch (error) {
    if (error instanceof PlanInputError) {
      console.error(`ci-plan: error: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main();
}
