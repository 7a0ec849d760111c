import { readFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import { z } from "zod";
import { checkFeatureDependencies, resolveFeatureName } from "../balloon/feature-bits.js";
import { DEFAULT_PROPERTY_MAP, parsePropertyMapOverrides } from "../balloon/property-map.js";
import { DEFAULT_EVENTS, DEFAULT_SETTLE_MS } from "../protocol/guest-protocol.js";
import { EVENT, GUEST_RESERVE_MIB } from "./input-checks.js";
import { LABEL } from "./kernel-spec.js";
import { BalloonBenchError, UsageError } from "../errors.js";
import {
  defaultConfigName,
  defaultWorkloadName,
  planCells,
  type BalloonScenario,
  type FeatureConfig,
  type Plan,
  type Workload,
} from "./plan.js";

/** /proc/vmstat fields recorded per iteration unless the plan names others. */
export const DEFAULT_VMSTAT = [
  "pgfault",
  "pgalloc_normal",
  "pgfree",
  "thp_fault_alloc",
  "thp_fault_fallback",
  "htlb_buddy_alloc_success",
  "balloon_inflate",
  "balloon_deflate",
] as const;
export const DEFAULT_ROUNDS_MAX = 5;
const DEFAULT_INFLATE_TIMEOUT_S = 120;

const label = z.string().regex(LABEL, "use letters, digits, '.', '_' and '-' (at most 64)");
const count = (min: number) => z.int().min(min);
const propertyMap = z.record(z.string().regex(/^\d+$/, "keys are bit numbers"), z.string());

const kernelSchema = z.strictObject({
  name: label,
  path: z.string().min(1),
  modules: z.string().min(1).optional(),
  cmdline: z.union([z.string(), z.array(z.string())]).optional(),
});

const configSchema = z.strictObject({
  name: label,
  bits: z.union([z.array(z.union([z.int().min(0).max(7), z.string()])), z.string()]),
  propertyMap: propertyMap.optional(),
  properties: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

const balloonSchema = z.union([
  z.enum(["none", "page-reporting"]),
  z.strictObject({
    "inflate-deflate": z.strictObject({
      inflate: count(1),
      timeoutS: count(1).optional(),
    }),
  }),
]);

const workloadSchema = z.strictObject({
  name: label.optional(),
  size: count(1),
  pages: z.enum(["default", "small", "thp", "hugetlb"]).optional(),
  balloon: balloonSchema.optional(),
  kernels: z.array(z.string()).optional(),
  configs: z.array(z.string()).optional(),
});

/** The plan file's schema (YAML or JSON). Unknown keys are errors: a typo must not be ignored. */
export const planFileSchema = z.strictObject({
  seed: z
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional(),
  iterations: count(1).optional(),
  warmup: count(0).optional(),
  rounds: count(1).optional(),
  vm: z.strictObject({ memoryMiB: count(64).optional(), vcpus: count(1).optional() }).optional(),
  accelerator: z.enum(["kvm", "tcg", "auto"]).optional(),
  events: z
    .union([z.array(z.string().regex(EVENT, "not a perf event name")), z.string()])
    .optional(),
  settleMs: count(0).optional(),
  bootTimeoutS: count(1).optional(),
  vmstat: z.array(z.string().regex(/^[a-z0-9_]+$/, "not a /proc/vmstat field")).optional(),
  guestStats: z.boolean().optional(),
  balloonModule: z.string().min(1).optional(),
  propertyMap: propertyMap.optional(),
  kernels: z.array(kernelSchema).min(1).optional(),
  configs: z.array(configSchema).min(1).optional(),
  workloads: z.array(workloadSchema).min(1).optional(),
});
export type PlanFile = z.infer<typeof planFileSchema>;

type Path = readonly (string | number)[];

/** A problem with one field of a plan: where it is and what to do. */
export class PlanFieldError extends BalloonBenchError {
  constructor(
    readonly path: Path,
    message: string,
    hint?: string,
  ) {
    super(message, { hint: hint ?? "fix the plan file" });
  }
}

export function formatPath(path: Path): string {
  let out = "";
  for (const part of path)
    out += typeof part === "number" ? `[${part}]` : out === "" ? part : `.${part}`;
  return out === "" ? "(top level)" : out;
}

function mapOverrides(
  record: Record<string, string> | undefined,
  base: ReadonlyMap<number, string>,
  path: Path,
) {
  try {
    return parsePropertyMapOverrides(
      Object.entries(record ?? {}).map(([bit, property]) => `${bit}=${property}`),
      base,
    );
  } catch (error) {
    throw new PlanFieldError(
      path,
      (error as Error).message,
      "write BIT: PROPERTY, e.g. 6: x-device-init-reported",
    );
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

/**
 * Pure: a schema-valid plan file as a Plan, with the checks a schema cannot express (names
 * unique and referenced, bits and their dependencies, sizes that fit the VM). Relative paths
 * are taken from `baseDir`, the plan file's folder.
 */
export function planFromFile(file: PlanFile, baseDir: string): Plan {
  const path = (p: string): string =>
    p.startsWith("debian:") || isAbsolute(p) ? p : resolve(baseDir, p);
  const memoryMiB = file.vm?.memoryMiB ?? 2048;
  const iterations = file.iterations ?? 10;
  const rounds = file.rounds ?? Math.min(iterations, DEFAULT_ROUNDS_MAX);
  if (rounds > iterations) {
    throw new PlanFieldError(
      ["rounds"],
      `rounds (${rounds}) exceeds iterations (${iterations}): every boot must run at least one counted iteration`,
      `set rounds to ${iterations} or less`,
    );
  }
  const kernels = (file.kernels ?? [{ name: "debian-stock", path: "debian:amd64" }]).map((k) => ({
    name: k.name,
    kernelPath: path(k.path),
    modulesDir: k.modules === undefined ? undefined : path(k.modules),
    cmdline:
      typeof k.cmdline === "string"
        ? k.cmdline.split(/\s+/).filter((a) => a !== "")
        : (k.cmdline ?? []),
  }));
  checkUnique(
    kernels.map((k) => k.name),
    "kernel",
    ["kernels"],
  );

  const globalMap = mapOverrides(file.propertyMap, DEFAULT_PROPERTY_MAP, ["propertyMap"]);
  const configs: FeatureConfig[] = (
    file.configs ?? [{ name: defaultConfigName([5]), bits: [5] }]
  ).map((c, i) => {
    const map = mapOverrides(c.propertyMap, globalMap, ["configs", i, "propertyMap"]);
    const names =
      typeof c.bits === "string" ? c.bits.split(",").filter((s) => s.trim() !== "") : c.bits;
    const bits = [
      ...new Set(
        names.map((name, j) => {
          try {
            return resolveFeatureName(String(name), map);
          } catch (error) {
            throw new PlanFieldError(
              ["configs", i, "bits", ...(typeof c.bits === "string" ? [] : [j])],
              (error as Error).message,
              (error as UsageError).hint,
            );
          }
        }),
      ),
    ].sort((a, b) => a - b);
    const [problem] = checkFeatureDependencies(bits);
    if (problem !== undefined)
      throw new PlanFieldError(
        ["configs", i, "bits"],
        problem.message,
        `add bit ${problem.missing} to config ${c.name}`,
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

  const workloads: Workload[] = (file.workloads ?? [{ size: 256 }]).map((w, i) => {
    const pages = w.pages ?? "default";
    const at = (field: string): Path => ["workloads", i, field];
    if (w.size + GUEST_RESERVE_MIB > memoryMiB) {
      throw new PlanFieldError(
        at("size"),
        `size ${w.size} MiB does not fit in a ${memoryMiB} MiB guest (${GUEST_RESERVE_MIB} MiB stay reserved for the kernel and userspace)`,
        `use size ${Math.max(1, memoryMiB - GUEST_RESERVE_MIB)} or less, or vm.memoryMiB ${w.size + GUEST_RESERVE_MIB}`,
      );
    }
    if (pages === "hugetlb" && w.size % 2 !== 0) {
      throw new PlanFieldError(
        at("size"),
        `hugetlb needs a size that is a multiple of 2 MiB, got ${w.size}`,
        `use size ${w.size + 1}`,
      );
    }
    let balloon: BalloonScenario = { kind: "page-reporting" };
    if (w.balloon === "none") balloon = { kind: "none" };
    else if (typeof w.balloon === "object") {
      const inflate = w.balloon["inflate-deflate"];
      if (inflate.inflate > memoryMiB - GUEST_RESERVE_MIB) {
        throw new PlanFieldError(
          [...at("balloon"), "inflate-deflate", "inflate"],
          `inflating by ${inflate.inflate} MiB leaves less than ${GUEST_RESERVE_MIB} MiB of a ${memoryMiB} MiB guest`,
          `inflate by ${Math.max(1, memoryMiB - GUEST_RESERVE_MIB)} MiB or less`,
        );
      }
      balloon = {
        kind: "inflate-deflate",
        inflateMiB: inflate.inflate,
        timeoutMs: (inflate.timeoutS ?? DEFAULT_INFLATE_TIMEOUT_S) * 1000,
      };
    }
    for (const [field, known] of [
      ["kernels", kernels.map((k) => k.name)],
      ["configs", configs.map((c) => c.name)],
    ] as const) {
      for (const [j, name] of (w[field] ?? []).entries()) {
        if (!known.includes(name))
          throw new PlanFieldError(
            [...at(field), j],
            `workload restricted to ${field.slice(0, -1)} '${name}', which the plan does not declare`,
            `use one of: ${known.join(", ")}`,
          );
      }
    }
    return {
      name: w.name ?? defaultWorkloadName(w.size, pages),
      sizeMiB: w.size,
      pages,
      balloon,
      kernels: w.kernels,
      configs: w.configs,
    };
  });
  checkUnique(
    workloads.map((w) => w.name),
    "workload",
    ["workloads"],
  );

  const plan: Plan = {
    kernels,
    configs,
    workloads,
    iterations,
    warmups: file.warmup ?? 0,
    rounds,
    seed: file.seed,
    memoryMiB,
    vcpus: file.vm?.vcpus ?? 2,
    accel: file.accelerator ?? "auto",
    events:
      typeof file.events === "string"
        ? file.events
            .split(",")
            .map((e) => e.trim())
            .filter((e) => e !== "")
        : (file.events ?? [...DEFAULT_EVENTS]),
    settleMs: file.settleMs ?? DEFAULT_SETTLE_MS,
    bootTimeoutMs: (file.bootTimeoutS ?? 120) * 1000,
    vmstat: file.vmstat ?? [...DEFAULT_VMSTAT],
    guestStats: file.guestStats ?? false,
    balloonModule: file.balloonModule === undefined ? undefined : path(file.balloonModule),
  };
  if (planCells(plan).length === 0) {
    throw new PlanFieldError(
      ["workloads"],
      "the plan has no cells: every workload is restricted away from every kernel × config",
      "loosen the workloads' kernels/configs lists",
    );
  }
  return plan;
}

/** The node at `path`, or its nearest ancestor that exists, for a line number. */
function nodeAt(
  doc: Document,
  path: Path,
  keyOf?: string,
): { range?: [number, number, number] | null } | undefined {
  let node: unknown = doc.contents;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === part);
      if (pair === undefined) break;
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof part === "number" && node.items[part] !== undefined) {
      node = node.items[part];
    } else break;
  }
  if (keyOf !== undefined && isMap(node)) {
    const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === keyOf);
    if (pair !== undefined) node = pair.key;
  }
  return node as Node | undefined;
}

/** Pure: parses plan text (YAML, or JSON, which is YAML) into a Plan; errors name file, line and field. */
export function parsePlanText(text: string, fileName: string, baseDir: string): Plan {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const where = (offset: number | undefined): string =>
    `${basename(fileName)}:${offset === undefined ? 1 : lineCounter.linePos(offset).line}`;
  const [syntax] = doc.errors;
  if (syntax !== undefined) {
    throw new UsageError(`${where(syntax.pos[0])}: ${syntax.message.split("\n")[0]}`, {
      hint: "fix the YAML syntax",
    });
  }
  const parsed = planFileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.code === "unrecognized_keys" ? issue.keys[0] : undefined;
    const node = nodeAt(doc, issue.path as Path, key);
    const field = formatPath(
      key === undefined ? (issue.path as Path) : [...(issue.path as Path), key],
    );
    const message = key === undefined ? issue.message : `unknown field (a typo?)`;
    throw new UsageError(`${where(node?.range?.[0] ?? undefined)}: ${field}: ${message}`, {
      hint: "see the plan file reference in the README",
    });
  }
  try {
    return planFromFile(parsed.data, baseDir);
  } catch (error) {
    if (!(error instanceof PlanFieldError)) throw error;
    const node = nodeAt(doc, error.path);
    throw new UsageError(
      `${where(node?.range?.[0] ?? undefined)}: ${formatPath(error.path)}: ${error.message}`,
      { hint: error.hint ?? "fix the plan file" },
    );
  }
}

export async function loadPlanFile(file: string): Promise<{ plan: Plan; text: string }> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError(`plan file ${file} cannot be read`, { hint: "check the --plan path" });
  }
  return { plan: parsePlanText(text, file, dirname(resolve(file))), text };
}
