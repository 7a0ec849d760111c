import { isAbsolute, resolve } from "node:path";
import { checkFeatureDependencies, resolveFeatureName } from "../balloon/feature-bits.js";
import { DEFAULT_PROPERTY_MAP, parsePropertyMapOverrides } from "../balloon/property-map.js";
import { UsageError } from "../errors.js";
import {
  defaultConfigName,
  defaultWorkloadName,
  planCells,
  type BalloonScenario,
  type FeatureConfig,
  type Plan,
  type Workload,
} from "./plan.js";
import {
  DEFAULT_EVENTS,
  DEFAULT_VMSTAT,
  GUEST_RESERVE_MIB,
  PLAN_DEFAULTS,
  defaultRounds,
} from "./plan-defaults.js";
import type { PlanFile, PlanFileWorkload } from "./plan-file-schema.js";
import { hugetlbProblem, pinFromField } from "./vm-options.js";

import { PlanFieldError, formatPath, type Path } from "./plan-field-error.js";
import { kernelsFromFile } from "./plan-file-kernels.js";

export { PlanFieldError, formatPath, type Path } from "./plan-field-error.js";

/**
 * How messages name a plan's fields: as the plan file spells them, or as the `run` flags that
 * set them (see plan-flags.ts). Messages are built with these, never rewritten afterwards.
 */
export interface FieldNames {
  /** The field at `path` ("size", "vm.memoryMiB"; "--size", "--memory"). */
  field(path: Path): string;
  /** The field at `path` set to `value` ("hugetlb"; "--huge", "--pages hugetlb"). */
  value(path: Path, value: string): string;
  /** Where config `index` lists its bits ("config a"; "--features"). */
  config(index: number, name: string): string;
  /** One property map entry, for hints ("6: x-device-init-reported"). */
  readonly mapEntry: string;
}

/** Plan-file names: a field inside a list item is named by its own key, others by their path. */
export const FILE_FIELD_NAMES: FieldNames = {
  field: (path) => {
    const lastIndex = path.findLastIndex((p) => typeof p === "number");
    return formatPath(lastIndex === -1 ? path : path.slice(lastIndex + 1));
  },
  value: (_path, value) => value,
  config: (_index, name) => `config ${name}`,
  mapEntry: "BIT: PROPERTY, e.g. 6: x-device-init-reported",
};

function mapOverrides(
  record: Record<string, string> | undefined,
  base: ReadonlyMap<number, string>,
  path: Path,
  names: FieldNames,
): Map<number, string> {
  try {
    return parsePropertyMapOverrides(
      Object.entries(record ?? {}).map(([bit, property]) => `${bit}=${property}`),
      base,
    );
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new PlanFieldError(path, error.message, `write ${names.mapEntry}`);
  }
}

function checkUnique(names: readonly string[], what: string, path: Path): void {
  const seen = new Set<string>();
  for (const [i, name] of names.entries()) {
    if (seen.has(name))
      throw new PlanFieldError(
        [...path, i, "name"],
        `${what} name '${name}' is used twice`,
        `give each ${what} a different name`,
      );
    seen.add(name);
  }
}

function splitList(value: string | readonly string[] | undefined): string[] | undefined {
  if (typeof value !== "string") return value === undefined ? undefined : [...value];
  return value
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
}

interface Context {
  readonly file: PlanFile;
  readonly names: FieldNames;
  readonly memoryMiB: number;
  readonly path: (p: string) => string;
}

function kernelsOf({ file, path }: Context): Plan["kernels"] {
  const kernels = kernelsFromFile(file.kernels ?? [PLAN_DEFAULTS.kernel], path);
  checkUnique(
    kernels.map((k) => k.name),
    "kernel",
    ["kernels"],
  );
  return kernels;
}

function configBits(c: NonNullable<PlanFile["configs"]>[number], i: number, ctx: Context) {
  const map = mapOverrides(
    c.propertyMap,
    mapOverrides(ctx.file.propertyMap, DEFAULT_PROPERTY_MAP, ["propertyMap"], ctx.names),
    ["configs", i, "propertyMap"],
    ctx.names,
  );
  const names = typeof c.bits === "string" ? (splitList(c.bits) ?? []) : c.bits;
  const bits = names.map((name, j) => {
    try {
      return resolveFeatureName(String(name), map);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      const at = ["configs", i, "bits", ...(typeof c.bits === "string" ? [] : [j])];
      throw new PlanFieldError(at, error.message, error.hint);
    }
  });
  return { map, bits: [...new Set(bits)].sort((a, b) => a - b) };
}

function configsOf(ctx: Context): FeatureConfig[] {
  const configs = (
    ctx.file.configs ?? [
      { name: defaultConfigName(PLAN_DEFAULTS.bits), bits: [...PLAN_DEFAULTS.bits] },
    ]
  ).map((c, i): FeatureConfig => {
    const { map, bits } = configBits(c, i, ctx);
    const [problem] = checkFeatureDependencies(bits);
    if (problem !== undefined)
      throw new PlanFieldError(
        ["configs", i, "bits"],
        problem.message,
        `add bit ${problem.missing} to ${ctx.names.config(i, c.name)}`,
      );
    return {
      name: c.name,
      bits,
      propertyMap: map,
      deviceProperties: Object.entries(c.properties ?? {}).map(
        ([k, v]) => [k, typeof v === "boolean" ? (v ? "on" : "off") : String(v)] as const,
      ),
    };
  });
  checkUnique(
    configs.map((c) => c.name),
    "config",
    ["configs"],
  );
  return configs;
}

function balloonOf(w: PlanFileWorkload, i: number, ctx: Context): BalloonScenario {
  if (w.balloon === "none") return { kind: "none" };
  if (typeof w.balloon !== "object") return { kind: "page-reporting" };
  const inflate = w.balloon["inflate-deflate"];
  const room = ctx.memoryMiB - GUEST_RESERVE_MIB;
  if (inflate.inflate > room) {
    throw new PlanFieldError(
      ["workloads", i, "balloon", "inflate-deflate", "inflate"],
      `inflating by ${inflate.inflate} MiB leaves less than ${GUEST_RESERVE_MIB} MiB of a ${ctx.memoryMiB} MiB guest`,
      `inflate by ${Math.max(1, room)} MiB or less`,
    );
  }
  return {
    kind: "inflate-deflate",
    inflateMiB: inflate.inflate,
    timeoutMs: (inflate.timeoutS ?? PLAN_DEFAULTS.inflateTimeoutS) * 1000,
  };
}

/**
 * A workload that must fit in the guest: its size plus what the kernel and userspace need, and
 * whole 2 MiB pages for hugetlb. `at` is the workload's path, for the names in the message.
 */
export function checkWorkloadFit(
  w: { readonly size: number; readonly pages?: string | undefined },
  memoryMiB: number,
  at: Path,
  names: FieldNames,
): void {
  const size: Path = [...at, "size"];
  if (w.size + GUEST_RESERVE_MIB > memoryMiB) {
    throw new PlanFieldError(
      size,
      `${names.field(size)} ${w.size} MiB does not fit in a ${memoryMiB} MiB guest (${GUEST_RESERVE_MIB} MiB stay reserved for the kernel and userspace)`,
      `use ${names.field(size)} ${Math.max(1, memoryMiB - GUEST_RESERVE_MIB)} or less, or ${names.field(["vm", "memoryMiB"])} ${w.size + GUEST_RESERVE_MIB}`,
    );
  }
  if (w.pages === "hugetlb" && w.size % 2 !== 0) {
    throw new PlanFieldError(
      size,
      `${names.value([...at, "pages"], "hugetlb")} needs a ${names.field(size)} that is a multiple of 2 MiB, got ${w.size}`,
      `use ${names.field(size)} ${w.size + 1}`,
    );
  }
}

function workloadsOf(ctx: Context, kernels: Plan["kernels"], configs: FeatureConfig[]): Workload[] {
  const workloads = (ctx.file.workloads ?? [{ size: PLAN_DEFAULTS.sizeMiB }]).map(
    (w, i): Workload => {
      checkWorkloadFit(w, ctx.memoryMiB, ["workloads", i], ctx.names);
      for (const [field, known] of [
        ["kernels", kernels.map((k) => k.name)],
        ["configs", configs.map((c) => c.name)],
      ] as const) {
        for (const [j, name] of (w[field] ?? []).entries()) {
          if (!known.includes(name))
            throw new PlanFieldError(
              ["workloads", i, field, j],
              `workload restricted to ${field.slice(0, -1)} '${name}', which the plan does not declare`,
              `use one of: ${known.join(", ")}`,
            );
        }
      }
      const pages = w.pages ?? "default";
      return {
        name: w.name ?? defaultWorkloadName(w.size, pages),
        sizeMiB: w.size,
        pages,
        balloon: balloonOf(w, i, ctx),
        kernels: w.kernels,
        configs: w.configs,
      };
    },
  );
  checkUnique(
    workloads.map((w) => w.name),
    "workload",
    ["workloads"],
  );
  return workloads;
}

function pinOf(file: PlanFile, names: FieldNames): number[] | undefined {
  try {
    const vcpus = file.vm?.vcpus ?? PLAN_DEFAULTS.vcpus;
    return pinFromField(file.vm?.pin, vcpus, names.field(["vm", "pin"]));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new PlanFieldError(["vm", "pin"], error.message, error.hint);
  }
}

function roundsOf({ file, names }: Context, iterations: number): number {
  const rounds = file.rounds ?? defaultRounds(iterations);
  if (rounds > iterations) {
    throw new PlanFieldError(
      ["rounds"],
      `${names.field(["rounds"])} (${rounds}) exceeds iterations (${iterations}): every boot must run at least one counted iteration`,
      `set ${names.field(["rounds"])} to ${iterations} or less`,
    );
  }
  return rounds;
}

/**
 * Pure: a schema-valid plan file as a Plan, with the checks a schema cannot express (names
 * unique and referenced, bits and their dependencies, sizes that fit the VM). Relative paths
 * are taken from `baseDir`, the plan file's folder; defaults come from plan-defaults.ts.
 */
export function planFromFile(
  file: PlanFile,
  baseDir: string,
  names: FieldNames = FILE_FIELD_NAMES,
): Plan {
  const ctx: Context = {
    file,
    names,
    memoryMiB: file.vm?.memoryMiB ?? PLAN_DEFAULTS.memoryMiB,
    path: (p) => (p.startsWith("debian:") || isAbsolute(p) ? p : resolve(baseDir, p)),
  };
  const iterations = file.iterations ?? PLAN_DEFAULTS.iterations;
  const rounds = roundsOf(ctx, iterations);
  const kernels = kernelsOf(ctx);
  const configs = configsOf(ctx);
  const plan: Plan = {
    kernels,
    configs,
    workloads: workloadsOf(ctx, kernels, configs),
    iterations,
    warmups: file.warmup ?? PLAN_DEFAULTS.warmups,
    rounds,
    seed: file.seed,
    memoryMiB: ctx.memoryMiB,
    vcpus: file.vm?.vcpus ?? PLAN_DEFAULTS.vcpus,
    memMerge: file.vm?.memMerge ?? PLAN_DEFAULTS.memMerge,
    memoryBacking: file.vm?.memoryBacking ?? PLAN_DEFAULTS.memoryBacking,
    allowHugetlbBalloon: file.vm?.allowHugetlbBalloon ?? PLAN_DEFAULTS.allowHugetlbBalloon,
    pin: pinOf(file, names),
    accel: file.accelerator ?? PLAN_DEFAULTS.accel,
    events: splitList(file.events) ?? [...DEFAULT_EVENTS],
    settleMs: file.settleMs ?? PLAN_DEFAULTS.settleMs,
    settleMode: file.settleMode === "rss" ? "rss" : undefined,
    bootTimeoutMs: (file.bootTimeoutS ?? PLAN_DEFAULTS.bootTimeoutS) * 1000,
    iterationTimeoutMs:
      file.iterationTimeoutS === undefined ? undefined : file.iterationTimeoutS * 1000,
    hangTimeoutMs: file.hangTimeoutS === undefined ? undefined : file.hangTimeoutS * 1000,
    vmstat: file.vmstat ?? [...DEFAULT_VMSTAT],
    guestStats: file.guestStats ?? false,
    balloonModule: file.balloonModule === undefined ? undefined : ctx.path(file.balloonModule),
  };
  const hugetlb = hugetlbProblem(plan, plan.workloads);
  if (hugetlb !== undefined) throw new PlanFieldError(hugetlb.path, hugetlb.message, hugetlb.hint);
  if (planCells(plan).length === 0) {
    throw new PlanFieldError(
      ["workloads"],
      "the plan has no cells: every workload is restricted away from every kernel × config",
      "loosen the workloads' kernels/configs lists",
    );
  }
  return plan;
}
