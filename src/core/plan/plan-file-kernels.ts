import type { KernelBuildRequest } from "../kernel/kernel-build-plan.js";
import { buildPlaceholder, type KernelSpec } from "./kernel-spec.js";
import { PlanFieldError } from "./plan-field-error.js";
import type { PlanFile } from "./plan-file-schema.js";

type PlanFileKernel = NonNullable<PlanFile["kernels"]>[number];

function list(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return typeof value === "string" ? [value] : [...value];
}

function cmdlineOf(k: PlanFileKernel): string[] {
  if (k.cmdline === undefined) return [];
  return typeof k.cmdline === "string" ? k.cmdline.split(/\s+/).filter((a) => a !== "") : k.cmdline;
}

/** A `{ name, tree, ref, patches, config, fragments }` entry: a kernel built before booting. */
function buildOf(k: PlanFileKernel, i: number, path: (p: string) => string): KernelBuildRequest {
  if (k.modules !== undefined) {
    throw new PlanFieldError(
      ["kernels", i, "modules"],
      `kernel ${k.name} is built from a tree, which brings its own modules`,
      "drop modules:",
    );
  }
  return {
    tree: path(k.tree ?? ""),
    ref: k.ref,
    patches: list(k.patches).map(path),
    config: k.config === undefined ? undefined : path(k.config),
    fragments: list(k.fragments).map(path),
  };
}

/** Each kernel entry as a KernelSpec: an image by `path`, or a source `tree` to build. */
export function kernelsFromFile(
  kernels: readonly PlanFileKernel[],
  path: (p: string) => string,
): KernelSpec[] {
  return kernels.map((k, i) => {
    const isBuild = k.tree !== undefined;
    if (isBuild === (k.path !== undefined)) {
      throw new PlanFieldError(
        ["kernels", i],
        `kernel ${k.name} needs exactly one of path (a built image) and tree (a source to build)`,
        "write path: IMAGE, or tree: DIR (with ref, patches, config, fragments)",
      );
    }
    const buildOnly = (["ref", "patches", "config", "fragments"] as const).find(
      (f) => k[f] !== undefined,
    );
    if (!isBuild && buildOnly !== undefined) {
      throw new PlanFieldError(
        ["kernels", i, buildOnly],
        `kernel ${k.name}: ${buildOnly} applies only to a kernel built from a tree`,
        "write tree: DIR instead of path:, or drop it",
      );
    }
    const cmdline = cmdlineOf(k);
    if (isBuild) {
      const build = buildOf(k, i, path);
      return { name: k.name, kernelPath: buildPlaceholder(build.tree), cmdline, build };
    }
    return {
      name: k.name,
      kernelPath: path(k.path ?? ""),
      modulesDir: k.modules === undefined ? undefined : path(k.modules),
      cmdline,
    };
  });
}
