import {
  MANIFEST_SCHEMA,
  type Fingerprint,
  type RunCell,
  type RunManifest,
} from "../../src/core/results-format/manifest.js";

export const FINGERPRINT: Fingerprint = {
  tool: "0.1.0",
  qemuVersion: "7.2.0",
  accelerator: "kvm",
  hostKernel: "6.1",
  cpuModel: "x",
  imageHash: "i",
  allocOnceSha256: "a",
  kernels: { stock: "s" },
  balloonModuleSha256: null,
};

/** A valid run cell, pending, for tests of what reads and writes manifests. */
export function runCell(id: string, overrides: Partial<RunCell> = {}): RunCell {
  const [kernel = "stock", config = "bits-5", workload = "alloc_once-256M"] = id.split("__");
  return {
    id,
    status: "pending",
    kernelName: kernel,
    configName: config,
    kernel: {
      name: kernel,
      path: "/k/bzImage",
      sha256: "s",
      release: "6.1.0",
      cmdline: [],
      bootMethod: "pvh",
      initramfsModules: [],
      modulesImage: false,
    },
    config: { name: config, requestedBits: [5] },
    workload,
    workloadSpec: { sizeMiB: 256, pages: "default", balloon: { kind: "page-reporting" } },
    ...overrides,
  };
}

/** A valid run manifest (schema 3) with no boots, for tests; override what the test is about. */
export function runManifest(overrides: Partial<RunManifest> = {}): RunManifest {
  return {
    schema: MANIFEST_SCHEMA,
    kind: "run",
    tool: { name: "balloon-bench", version: "0.1.0" },
    createdAt: "2026-12-01T00:00:00.000Z",
    runs: [],
    host: { kernel: "6.1", cpuModel: "x", hostname: "h" },
    qemu: { path: "/usr/bin/qemu-system-x86_64", version: "7.2.0", versionLine: "QEMU 7.2.0" },
    accelerator: { requested: "kvm", used: "kvm", cpu: "host", reason: "asked", warnings: [] },
    image: { hash: "i" },
    workload: { program: "alloc_once", sourceSha256: "src", binarySha256: "a" },
    protocol: {
      events: ["task-clock"],
      iterations: 2,
      warmupsPerBoot: 0,
      rounds: 2,
      flushPages: 512,
      settleMs: 3000,
      vmstat: [],
    },
    vm: { machine: "q35", memoryMiB: 2048, vcpus: 2 },
    plan: { hash: "h", seed: 1, record: {} },
    shard: null,
    fingerprint: FINGERPRINT,
    schedule: { bootOrder: [] },
    skipped: [],
    balloon: { driverModule: null },
    cells: [],
    boots: [],
    ...overrides,
  };
}
