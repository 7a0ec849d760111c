import { z } from "zod";
import { EVENT } from "./input-checks.js";
import { LABEL } from "./kernel-spec.js";
import { MEMORY_BACKINGS } from "./vm-options.js";

const label = z.string().regex(LABEL, "use letters, digits, '.', '_' and '-' (at most 64)");
const count = (min: number) => z.int().min(min);
const propertyMap = z.record(z.string().regex(/^\d+$/, "keys are bit numbers"), z.string());

const paths = z.union([z.string().min(1), z.array(z.string().min(1))]);

/** A built image (`path`), or a source tree built before booting (`tree` and the rest). */
const kernelSchema = z.strictObject({
  name: label,
  path: z.string().min(1).optional(),
  modules: z.string().min(1).optional(),
  cmdline: z.union([z.string(), z.array(z.string())]).optional(),
  tree: z.string().min(1).optional(),
  ref: z.string().min(1).optional(),
  patches: paths.optional(),
  config: z.string().min(1).optional(),
  fragments: paths.optional(),
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

export const PAGE_MODES = ["default", "small", "thp", "hugetlb"] as const;

const workloadSchema = z.strictObject({
  name: label.optional(),
  size: count(1),
  pages: z.enum(PAGE_MODES).optional(),
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
  vm: z
    .strictObject({
      memoryMiB: count(64).optional(),
      vcpus: count(1).optional(),
      memMerge: z.boolean().optional(),
      memoryBacking: z.enum(MEMORY_BACKINGS).optional(),
      allowHugetlbBalloon: z.boolean().optional(),
      pin: z.union([z.string(), z.array(z.int().min(0))]).optional(),
    })
    .optional(),
  accelerator: z.enum(["kvm", "tcg", "auto"]).optional(),
  events: z
    .union([z.array(z.string().regex(EVENT, "not a perf event name")), z.string()])
    .optional(),
  settleMs: count(0).optional(),
  /** fixed: sleep settleMs in the guest (bench.sh); rss: until QEMU's RSS stops falling, at most settleMs. */
  settleMode: z.enum(["fixed", "rss"]).optional(),
  bootTimeoutS: count(1).optional(),
  /** Longest an iteration may take (default: derived from the workload, see plan-defaults.ts). */
  iterationTimeoutS: count(1).optional(),
  /** Longest QEMU may not answer QMP during an iteration before the boot is given up. */
  hangTimeoutS: count(1).optional(),
  vmstat: z.array(z.string().regex(/^[a-z0-9_]+$/, "not a /proc/vmstat field")).optional(),
  guestStats: z.boolean().optional(),
  balloonModule: z.string().min(1).optional(),
  propertyMap: propertyMap.optional(),
  kernels: z.array(kernelSchema).min(1).optional(),
  configs: z.array(configSchema).min(1).optional(),
  workloads: z.array(workloadSchema).min(1).optional(),
});
export type PlanFile = z.infer<typeof planFileSchema>;
export type PlanFileWorkload = NonNullable<PlanFile["workloads"]>[number];
