import { UsageError } from "../errors.js";

/** A kernel build as the user names it: `--kernel NAME=PATH[,modules=DIR][,cmdline=...]`. */
export interface KernelSpec {
  readonly name: string;
  readonly kernelPath: string;
  /** A `make modules_install INSTALL_MOD_PATH=DIR` tree (contains lib/modules/VERSION). */
  readonly modulesDir?: string | undefined;
  /** Extra kernel command-line arguments. */
  readonly cmdline: readonly string[];
}

/** A label for kernels, configs and workloads: safe in folder names. */
export const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const FORM =
  "write --kernel NAME=PATH[,modules=DIR][,cmdline=ARGS] (cmdline last: it may contain commas)";

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
