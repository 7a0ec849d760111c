import { UsageError } from "../errors.js";
import type { BuiltKernelRecord, KernelBuildRequest } from "../kernel/kernel-build-plan.js";

/**
 * A kernel build as the user names it: `--kernel NAME=PATH[,modules=DIR][,cmdline=...]`, or
 * `--kernel NAME=build:tree=DIR[,ref=REF][,patches=MBOX]...` (built before anything boots).
 */
export interface KernelSpec {
  readonly name: string;
  /** The image; for a kernel still to build, `build:TREE` until it is built. */
  readonly kernelPath: string;
  /** A kernel to build from a source tree (the build fills in kernelPath and modulesDir). */
  readonly build?: KernelBuildRequest | undefined;
  /** What the build was made of, once built (recorded in the manifest). */
  readonly built?: BuiltKernelRecord | undefined;
  /** A `make modules_install INSTALL_MOD_PATH=DIR` tree (contains lib/modules/VERSION). */
  readonly modulesDir?: string | undefined;
  /** Extra kernel command-line arguments. */
  readonly cmdline: readonly string[];
}

/** A label for kernels, configs and workloads: safe in folder names. */
export const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const FORM =
  "write --kernel NAME=PATH[,modules=DIR][,cmdline=ARGS] or NAME=build:tree=DIR[,ref=REF][,patches=MBOX][,config=FILE][,fragment=FILE] (cmdline last: it may contain commas)";

/** The kernelPath of a kernel still to build: a label until the build gives the image. */
export function buildPlaceholder(tree: string): string {
  return `build:${tree}`;
}

/** `build:tree=DIR,ref=REF,patches=A,patches=B,config=FILE,fragment=F` (patches/fragment repeat). */
function parseBuildOptions(text: string, value: string): KernelBuildRequest {
  let tree: string | undefined;
  let ref: string | undefined;
  let config: string | undefined;
  const patches: string[] = [];
  const fragments: string[] = [];
  for (const option of text.split(",")) {
    const eq = option.indexOf("=");
    const key = eq <= 0 ? option : option.slice(0, eq);
    const v = eq <= 0 ? "" : option.slice(eq + 1);
    if (v === "") {
      throw new UsageError(`--kernel option '${option}' in '${value}' has no value`, {
        hint: FORM,
      });
    }
    if (key === "tree" && tree === undefined) tree = v;
    else if (key === "ref" && ref === undefined) ref = v;
    else if (key === "config" && config === undefined) config = v;
    else if (key === "patches") patches.push(v);
    else if (key === "fragment") fragments.push(v);
    else if (key === "modules") {
      throw new UsageError(`--kernel '${value}': a kernel built from a tree brings its modules`, {
        hint: "drop modules=",
      });
    } else {
      throw new UsageError(`unknown or repeated --kernel build option '${option}' in '${value}'`, {
        hint: FORM,
      });
    }
  }
  if (tree === undefined) {
    throw new UsageError(`--kernel '${value}' names no source tree`, { hint: FORM });
  }
  return { tree, ref, patches, config, fragments };
}

/**
 * Parses one --kernel value. `cmdline=` takes the rest of the value verbatim (kernel arguments
 * may contain commas); `modules=` and the path end at the next comma.
 */
export function parseKernelSpec(value: string): KernelSpec {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new UsageError(`malformed --kernel '${value}'`, { hint: FORM });
  const name = value.slice(0, eq);
  if (!LABEL.test(name)) {
    throw new UsageError(`kernel name '${name}' is not usable as a label`, {
      hint: "use letters, digits, '.', '_' and '-' (at most 64), starting with a letter or digit",
    });
  }
  let rest = value.slice(eq + 1);
  let cmdline: string[] = [];
  const cmdlineAt = rest.search(/(^|,)cmdline=/);
  if (cmdlineAt !== -1) {
    const text = rest.slice(rest.indexOf("cmdline=", cmdlineAt) + "cmdline=".length);
    cmdline = text.split(/\s+/).filter((arg) => arg !== "");
    rest = rest.slice(0, cmdlineAt);
  }
  if (rest.startsWith("build:")) {
    const build = parseBuildOptions(rest.slice("build:".length), value);
    return {
      name,
      kernelPath: buildPlaceholder(build.tree),
      modulesDir: undefined,
      cmdline,
      build,
    };
  }
  const [kernelPath, ...options] = rest.split(",");
  if (kernelPath === undefined || kernelPath === "") {
    throw new UsageError(`--kernel '${value}' names no kernel image`, { hint: FORM });
  }
  let modulesDir: string | undefined;
  for (const option of options) {
    const [key, ...v] = option.split("=");
    const optionValue = v.join("=");
    if (key === "modules" && optionValue !== "") modulesDir = optionValue;
    else throw new UsageError(`unknown --kernel option '${option}' in '${value}'`, { hint: FORM });
  }
  return { name, kernelPath, modulesDir, cmdline };
}

/** Kernel names must be unique within a run: they label results. */
export function assertUniqueKernelNames(specs: readonly KernelSpec[]): void {
  const seen = new Set<string>();
  for (const spec of specs) {
    if (seen.has(spec.name)) {
      throw new UsageError(`kernel name '${spec.name}' is given twice`, {
        hint: "give each --kernel a different NAME",
      });
    }
    seen.add(spec.name);
  }
}
