import { createHash } from "node:crypto";
import type { HistoryRunInput } from "../../core/history/history-input.js";
import { cellViews, type Manifest } from "../../core/results-format/manifest.js";
import type { Sample } from "../../core/results-format/sample.js";
import { ResultsDir } from "../results-dir.js";

/**
 * `history add`'s reader: one results directory (run, merge, calibrate or import) as a
 * HistoryRunInput, read only through the results format (ResultsDir, the manifest schema and its
 * upgrade, cellViews, validated samples). Warm-ups and iterations without a count are left out of
 * the values; cells without samples are left out.
 */
export async function readHistoryRunInput(path: string): Promise<HistoryRunInput> {
  const results = await ResultsDir.open(path);
  const manifest = await results.readManifest();
  const cells: HistoryRunInput["cells"] = [];
  for (const view of cellViews(manifest)) {
    const samples = (await results.readSamples(view.id)).filter((s) => !s.warmup);
    if (samples.length === 0) continue;
    cells.push({
      kernel: kernelOf(manifest, view.id, view.kernel),
      config: view.config,
      requestedBits: [...view.requestedBits],
      negotiatedBits: view.negotiatedBits === undefined ? null : [...view.negotiatedBits],
      workload: view.workload,
      samples: samples.map((sample) => ({
        boot: bootOf(sample),
        iteration: sample.iteration,
        metrics: metricsOf(sample),
      })),
    });
  }
  const environment = environmentOf(manifest);
  return {
    sourceRun: sourceRunOf(manifest),
    date: dateOf(manifest),
    fingerprint: environment.fingerprint,
    qemuVersion: environment.qemuVersion,
    accelerator: environment.accelerator,
    cells,
  };
}

const SHA256 = /^[0-9a-f]{64}$/;

function kernelOf(manifest: Manifest, cellId: string, label: string) {
  if (manifest.kind !== "run") return { label };
  const kernel = manifest.cells.find((c) => c.id === cellId)?.kernel;
  return {
    label,
    ...(kernel !== undefined && SHA256.test(kernel.sha256) ? { sha256: kernel.sha256 } : {}),
    ...(kernel !== undefined && kernel.release !== "" ? { release: kernel.release } : {}),
  };
}

/** The boot an iteration ran in: its id, else its round, else one boot for the whole cell. */
function bootOf(sample: Sample): string {
  if (sample.boot !== undefined) return sample.boot;
  return sample.round === undefined ? "boot-1" : `round-${sample.round}`;
}

/** perf's counts; a counter perf did not count is null (never a zero). */
function metricsOf(sample: Sample): Record<string, number | null> {
  const metrics: Record<string, number | null> = {};
  for (const [event, counter] of Object.entries(sample.counters)) {
    metrics[event] = counter.status === "counted" ? counter.value : null;
  }
  return metrics;
}

/**
 * The same results directory gives the same id however often it is added: the manifest's kind,
 * creation time, plan hash and seed, and shard.
 */
function sourceRunOf(manifest: Manifest): string {
  if (manifest.kind === "import") {
    const cells = manifest.cells.map((c) => c.id).join(",");
    const hash = createHash("sha256").update(cells).digest("hex").slice(0, 12);
    return `import/${manifest.createdAt}/${hash}`;
  }
  const shard =
    manifest.shard === null ? "all" : `${manifest.shard.index}of${manifest.shard.count}`;
  return `run/${manifest.plan.hash.slice(0, 12)}/seed-${manifest.plan.seed}/shard-${shard}/${manifest.createdAt}`;
}

/** When the night's measurements started: the first run's start, else the manifest's creation. */
function dateOf(manifest: Manifest): string {
  if (manifest.kind === "run") return manifest.runs[0]?.startedAt ?? manifest.createdAt;
  return manifest.createdAt;
}

type Scalar = string | number | boolean | null;

/**
 * The environment a series must keep to stay one series. From a run's fingerprint (the tool,
 * QEMU, accelerator, host kernel, CPU, guest image, workload binary, balloon module) and the VM's
 * shape; the kernels under test go in as `kernels.NAME`, which the history does not split on (a
 * new build of a kernel line is what it is there to judge).
 */
function environmentOf(manifest: Manifest): {
  fingerprint: Record<string, Scalar>;
  qemuVersion: string;
  accelerator: string;
} {
  if (manifest.kind === "import") {
    const env = manifest.cells[0]?.environment;
    return {
      fingerprint: { cpuModel: env?.cpuModel ?? null, imported: true },
      qemuVersion: env?.qemuVersion ?? "unknown",
      accelerator: env?.accelerator ?? "unknown",
    };
  }
  const { kernels, ...rest } = manifest.fingerprint;
  const fingerprint: Record<string, Scalar> = { ...rest };
  for (const [name, sha] of Object.entries(kernels)) fingerprint[`kernels.${name}`] = sha;
  fingerprint["vm.machine"] = manifest.vm.machine;
  fingerprint["vm.memoryMiB"] = manifest.vm.memoryMiB;
  fingerprint["vm.vcpus"] = manifest.vm.vcpus;
  return {
    fingerprint,
    qemuVersion: manifest.qemu.version,
    accelerator: manifest.accelerator.used,
  };
}
