import { z } from "zod";
import { hostLoadSchema, hostStateSchema, type HostState } from "../host/host-state.js";
import { pinningSchema } from "../host/vcpu-pinning.js";

/**
 * The results directory's manifest.json, declared once. Everything that writes or reads a
 * results directory (run, calibrate, import, merge, compare, history) goes through this schema
 * and the types inferred from it. Older manifests are upgraded on read (upgrade.ts).
 */
export const MANIFEST_SCHEMA = 3;

const bits = z.array(z.int().min(0).max(63));
const stringList = z.array(z.string());

/** What must match for a results directory to be resumed, or shards to be merged. */
export const fingerprintSchema = z.object({
  tool: z.string(),
  qemuVersion: z.string(),
  accelerator: z.string(),
  hostKernel: z.string(),
  cpuModel: z.string(),
  imageHash: z.string(),
  allocOnceSha256: z.string(),
  kernels: z.record(z.string(), z.string()),
  balloonModuleSha256: z.string().nullable(),
});
export type Fingerprint = z.infer<typeof fingerprintSchema>;

/** Bits requested, offered by the device (QMP) and negotiated by the driver (QMP and sysfs). */
export const featuresSchema = z.object({
  requested: bits,
  offered: bits,
  negotiatedQmp: bits,
  negotiatedSysfs: bits,
  sysfsString: z.string().nullable(),
  verified: z.boolean(),
  findings: stringList,
});
export type FeaturesRecord = z.infer<typeof featuresSchema>;

export const guestSchema = z.object({
  unameR: z.string(),
  thp: z.string(),
  memTotalKiB: z.number(),
  perf: z.string(),
  balloonDriver: z.string().optional(),
  hasFlush: z.boolean().optional(),
});
export type GuestRecord = z.infer<typeof guestSchema>;

const scenarioSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("none") }),
  z.object({ kind: z.literal("page-reporting") }),
  z.object({ kind: z.literal("inflate-deflate"), inflateMiB: z.number(), timeoutMs: z.number() }),
]);

export const CELL_STATUSES = ["pending", "running", "complete", "failed", "interrupted"] as const;
export type CellStatus = (typeof CELL_STATUSES)[number];

/** What a kernel build was made of (kernel-build-plan.ts's KernelBuildIdentity). */
export const kernelBuildIdentitySchema = z.object({
  commit: z.string().optional(),
  patches: z.array(z.object({ subject: z.string(), sha256: z.string() })),
  dirtyDiffSha256: z.string().optional(),
  contentSha256: z.string().optional(),
  builtSourceSha256: z.string().optional(),
  configSha256: z.string(),
  compiler: z.string(),
});

/** A kernel built from a source tree: what it was made of (kernel build, --kernel NAME=build:). */
export const builtKernelSchema = z.object({
  tree: z.string(),
  ref: z.string().optional(),
  ...kernelBuildIdentitySchema.shape,
  key: z.string(),
});

/** One kernel × config × workload of a run. */
export const runCellSchema = z.object({
  id: z.string(),
  status: z.enum(CELL_STATUSES),
  kernelName: z.string(),
  configName: z.string(),
  kernel: z.object({
    name: z.string(),
    path: z.string(),
    sha256: z.string(),
    release: z.string(),
    cmdline: stringList,
    bootMethod: z.enum(["pvh", "bzimage"]),
    initramfsModules: stringList,
    modulesImage: z.boolean(),
    /** Only for kernels built from a source tree. */
    build: builtKernelSchema.optional(),
  }),
  config: z.object({ name: z.string(), requestedBits: bits }),
  workload: z.string(),
  workloadSpec: z.object({
    sizeMiB: z.number(),
    pages: z.enum(["default", "small", "thp", "hugetlb"]),
    balloon: scenarioSchema,
  }),
  features: featuresSchema.optional(),
  guest: guestSchema.optional(),
  bootToSshMs: z.number().optional(),
  /** In a merged manifest: the host state of the shard that ran the cell (when it differs). */
  hostState: hostStateSchema.optional(),
  error: z.string().optional(),
  consoleTail: z.string().optional(),
});
export type RunCell = z.infer<typeof runCellSchema>;

export const BOOT_STATUSES = ["booting", "running", "complete", "failed", "interrupted"] as const;
export type BootStatus = (typeof BOOT_STATUSES)[number];

/** One VM boot: a kernel × config in one round. */
export const bootSchema = z.object({
  id: z.string(),
  round: z.int(),
  kernel: z.string(),
  config: z.string(),
  logDir: z.string(),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  status: z.enum(BOOT_STATUSES),
  bootToSshMs: z.number().optional(),
  features: featuresSchema.optional(),
  guest: guestSchema.optional(),
  /** The host's load when the boot started (load average, run queue, steal, CPU pressure). */
  hostLoad: hostLoadSchema.optional(),
  /** Each vCPU thread's host CPU and the other threads' set, verified from /proc. */
  pinning: pinningSchema.optional(),
  /** How QEMU stopped: quit, sigterm, sigkill, already-exited. */
  shutdown: z.string().optional(),
  error: z.string().optional(),
  consoleTail: z.string().optional(),
});
export type BootRecord = z.infer<typeof bootSchema>;

export const shardSchema = z.object({ index: z.int().min(1), count: z.int().min(1) });

const toolSchema = z.object({ name: z.literal("balloon-bench"), version: z.string() });

/** Written by `run` and `calibrate` (and by `merge`, from shards of one plan). */
export const runManifestSchema = z.object({
  schema: z.literal(MANIFEST_SCHEMA),
  kind: z.literal("run"),
  tool: toolSchema,
  createdAt: z.string(),
  runs: z.array(
    z.object({
      startedAt: z.string(),
      command: stringList,
      resumedIterations: z.int(),
    }),
  ),
  host: z.object({ kernel: z.string(), cpuModel: z.string(), hostname: z.string() }),
  qemu: z.object({ path: z.string(), version: z.string(), versionLine: z.string() }),
  accelerator: z.object({
    requested: z.string(),
    used: z.enum(["kvm", "tcg"]),
    cpu: z.string(),
    reason: z.string(),
    warnings: stringList,
    /** Whether the guest saw a hardware PMU (KVM -cpu host); absent in earlier versions' results. */
    guestPmu: z.boolean().optional(),
  }),
  image: z.object({ hash: z.string() }),
  workload: z.object({ program: z.string(), sourceSha256: z.string(), binarySha256: z.string() }),
  protocol: z.object({
    events: stringList,
    iterations: z.int(),
    warmupsPerBoot: z.int(),
    rounds: z.int(),
    flushPages: z.int(),
    settleMs: z.int(),
    /** Absent in results of earlier versions, and when fixed (a sleep in the guest, as bench.sh). */
    settleMode: z.enum(["fixed", "rss"]).optional(),
    vmstat: stringList,
  }),
  vm: z.object({
    machine: z.string(),
    memoryMiB: z.int(),
    vcpus: z.int(),
    /** Absent in results of earlier versions (QEMU's defaults: merge on, anonymous RAM). */
    memMerge: z.boolean().optional(),
    memoryBacking: z.enum(["anonymous", "memfd", "hugetlb"]).optional(),
    /** The CPU list vCPUs were pinned to (the mapping of each boot is in its record). */
    pin: z.string().optional(),
    /** What the run was warned about and ran anyway (hugetlb backing with the balloon). */
    caveats: stringList.optional(),
  }),
  plan: z.object({ hash: z.string(), seed: z.int(), record: z.record(z.string(), z.unknown()) }),
  shard: shardSchema.nullable(),
  fingerprint: fingerprintSchema,
  /**
   * The host's settings and load when the run started: beside the fingerprint, not in it, so a
   * resume or merge is not refused over a load average; the settings that matter (governor,
   * boost, SMT, THP, KSM) are compared by hostSettingDifferences and flagged.
   */
  hostState: hostStateSchema.optional(),
  /** The seeded boot order; a merged manifest keeps one list per shard. */
  schedule: z.object({ bootOrder: z.union([stringList, z.array(stringList)]) }),
  skipped: z.array(z.object({ config: z.string(), reason: z.string() })),
  balloon: z.object({
    driverModule: z.object({ path: z.string(), sha256: z.string().nullable() }).nullable(),
  }),
  cells: z.array(runCellSchema),
  boots: z.array(bootSchema),
  mergedFrom: z
    .array(z.object({ dir: z.string(), shard: shardSchema, hostState: hostStateSchema.optional() }))
    .optional(),
});
export type RunManifest = z.infer<typeof runManifestSchema>;

/** One cell brought in from hand-run bench.sh CSVs (`import`), or from a schema-1 run. */
export const importCellSchema = z.object({
  id: z.string(),
  status: z.literal("complete"),
  kernelName: z.string(),
  configName: z.string(),
  workload: z.string(),
  environment: z.object({
    accelerator: z.string(),
    qemuVersion: z.string().nullable(),
    cpuModel: z.string().nullable(),
  }),
  imported: z.object({
    /** The CSV files, one per boot (or "schema-1 run" for results of an old `run`). */
    from: stringList,
    runs: z.int(),
  }),
  features: featuresSchema.optional(),
});
export type ImportCell = z.infer<typeof importCellSchema>;

export const importManifestSchema = z.object({
  schema: z.literal(MANIFEST_SCHEMA),
  kind: z.literal("import"),
  tool: toolSchema,
  createdAt: z.string(),
  /** Set when the directory was converted from an older manifest on read. */
  upgradedFrom: z.int().optional(),
  cells: z.array(importCellSchema),
});
export type ImportManifest = z.infer<typeof importManifestSchema>;

export const manifestSchema = z.discriminatedUnion("kind", [
  runManifestSchema,
  importManifestSchema,
]);
export type Manifest = z.infer<typeof manifestSchema>;

/** What compare needs of a cell, whichever kind of manifest holds it. */
export interface CellView {
  readonly id: string;
  readonly kernel: string;
  readonly config: string;
  readonly workload: string;
  readonly status: string;
  readonly requestedBits: readonly number[];
  readonly negotiatedBits: readonly number[] | undefined;
  readonly environment: {
    readonly accelerator: string;
    readonly qemuVersion: string;
    readonly cpuModel: string;
  };
  /** The host's settings when the run started (runs of this version). */
  readonly hostState?: HostState | undefined;
}

/** The cells of a manifest as compare sees them. */
export function cellViews(manifest: Manifest): CellView[] {
  if (manifest.kind === "import") {
    return manifest.cells.map((cell) => ({
      id: cell.id,
      kernel: cell.kernelName,
      config: cell.configName,
      workload: cell.workload,
      status: cell.status,
      requestedBits: cell.features?.requested ?? [],
      negotiatedBits: cell.features?.negotiatedSysfs,
      environment: {
        accelerator: cell.environment.accelerator,
        qemuVersion: cell.environment.qemuVersion ?? "unknown",
        cpuModel: cell.environment.cpuModel ?? "unknown",
      },
    }));
  }
  return manifest.cells.map((cell) => ({
    id: cell.id,
    kernel: cell.kernelName,
    config: cell.configName,
    workload: cell.workload,
    status: cell.status,
    requestedBits: cell.config.requestedBits,
    negotiatedBits: cell.features?.negotiatedSysfs,
    environment: {
      accelerator: manifest.accelerator.used,
      qemuVersion: manifest.qemu.version,
      cpuModel: manifest.host.cpuModel,
    },
    hostState: cell.hostState ?? manifest.hostState,
  }));
}
