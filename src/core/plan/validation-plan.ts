import { UsageError } from "../errors.js";
import { LABEL } from "./kernel-spec.js";
import type { PlanFile } from "./plan-file-schema.js";

/** What `validate` is given: a tree, the commit the series applies to, the series. */
export interface ValidationRequest {
  readonly tree: string;
  readonly base: string;
  readonly patches: readonly string[];
  /** A .config both kernels are built from (default: the guest config). */
  readonly kernelConfig?: string | undefined;
  readonly fragments: readonly string[];
  /** `--config NAME=BITS` values; none: the one config of --features. */
  readonly configs: readonly string[];
}

/** The kernel names `validate` uses: the baseline is what compare compares against. */
export const BASELINE_KERNEL = "baseline";
export const PATCHED_KERNEL = "patched";

/** `--config NAME=BITS`, e.g. `reported=5,6`. */
export function parseConfigFlag(value: string): { name: string; bits: string } {
  const eq = value.indexOf("=");
  const name = value.slice(0, eq);
  const bits = value.slice(eq + 1);
  if (eq <= 0 || bits.trim() === "" || !LABEL.test(name)) {
    throw new UsageError(`malformed --config '${value}'`, {
      hint: "write --config NAME=BITS, e.g. --config reporting=5 --config reported=5,6",
    });
  }
  return { name, bits };
}

/**
 * Pure: the plan of the run flags with validate's two kernels — the tree at --base, and the tree
 * at --base with the series — and its feature configs. Checked before anything is built.
 */
export function validationPlanFile(file: PlanFile, request: ValidationRequest): PlanFile {
  if (request.patches.length === 0) {
    throw new UsageError("validate needs the series to validate", {
      hint: "pass --patches SERIES.mbox (as `b4 am` writes it)",
    });
  }
  const common = {
    tree: request.tree,
    ref: request.base,
    ...(request.kernelConfig === undefined ? {} : { config: request.kernelConfig }),
    fragments: [...request.fragments],
  };
  const configs = request.configs.map(parseConfigFlag);
  return {
    ...file,
    kernels: [
      { name: BASELINE_KERNEL, ...common },
      { name: PATCHED_KERNEL, ...common, patches: [...request.patches] },
    ],
    ...(configs.length === 0 ? {} : { configs }),
  };
}

/** The /proc/vmstat fields a gate or --vmstat-compare names (`vmstat.pgfault:50` → pgfault). */
export function vmstatFieldsToCompare(
  expectImprovement: readonly string[],
  extra: string | undefined,
): string[] {
  const fields = new Set<string>();
  for (const gate of expectImprovement) {
    const match = /^vmstat\.([a-z0-9_]+):/.exec(gate.trim());
    if (match?.[1] !== undefined) fields.add(match[1]);
  }
  for (const f of (extra ?? "").split(",")) if (f.trim() !== "") fields.add(f.trim());
  return [...fields];
}
