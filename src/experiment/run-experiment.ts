import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { cpus, hostname, release } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  MiB,
  moveBalloon,
  queryBalloonActualBytes,
  readGuestMemoryStats,
  readRssBytes,
  setGuestStatsPolling,
} from "../machine/balloon/balloon-control.js";
import { balloonDeviceForFeatures } from "../core/balloon/balloon-device.js";
import { decodeSysfsFeatureString, decodeVirtioStatus } from "../core/balloon/device-features.js";
import { BalloonBenchError, UsageError } from "../core/errors.js";
import { GuestCommandError } from "../machine/guest/guest-errors.js";
import { bootGuest, type GuestVm } from "../machine/guest/guest-vm.js";
import { ensureGuestImage, type GuestImage } from "../machine/image/guest-image.js";
import { resolveKernelSource } from "../machine/kernel/kernel-source.js";
import { readKernelImageHeader, sha256File } from "../machine/kernel/kernel-image.js";
import type { KernelSpec } from "../core/plan/kernel-spec.js";
import { prepareKernel, type PreparedKernel } from "../machine/kernel/prepared-kernel.js";
import { parsePerfStatCsv } from "../core/perf/perf-csv.js";
import {
  firstDifference,
  planCells,
  planHash,
  planRecord,
  type Cell,
  type Plan,
} from "../core/plan/plan.js";
import { shardCells, type Shard } from "../core/plan/shard.js";
import {
  buildSchedule,
  freshSeed,
  iterationKey,
  remainingSchedule,
  type Boot,
  type BootWorkload,
} from "../core/plan/schedule.js";
import { BALLOON_VIRTIO_PATH } from "../machine/probe.js";
import {
  chooseAccelerator,
  readHostAccelFacts,
  type AcceleratorChoice,
} from "../core/qemu/accelerator.js";
import type { BalloonDeviceSpec } from "../core/qemu/qemu-argv.js";
import {
  readDeviceProperties,
  readQemuBinaryInfo,
  resolveQemuBinary,
} from "../machine/qemu/qemu-binary.js";
import { ResultsDir } from "./results-dir.js";
import {
  countersFromPerfRun,
  type IterationTelemetry,
  type Sample,
} from "../core/results-format/sample.js";
import { readTail } from "../util/file-tail.js";
import { cacheDir } from "../util/paths.js";
import { shutdownRequested } from "../util/shutdown.js";
import { TOOL_VERSION } from "../version.js";
import { buildAllocOnce, type AllocOnceBinary } from "../machine/workload/alloc-once.js";
import {
  FLUSH_PAGES,
  GUEST_ALLOC_ONCE,
  GUEST_BALLOON_MODULE,
  GUEST_FACTS_SCRIPT,
  GUEST_WORK_DIR,
  activeThpSetting,
  describeIterationFailure,
  hugetlbOvercommitPages,
  iterationArgv,
  parseGuestFacts,
  parseIterationTimes,
  parseVmstatDeltas,
  setHugetlbOvercommitArgv,
  setThpArgv,
  thpSettingFor,
  type GuestFacts,
  type SettleMode,
} from "../core/protocol/guest-protocol.js";
import type { RunReporter } from "./run-reporter.js";

export interface ExperimentRequest {
  readonly plan: Plan;
  readonly out: string;
  readonly qemu?: string | undefined;
  /** Run the cells whose configs this QEMU can offer, and list the others, instead of failing. */
  readonly skipUnsupported: boolean;
  readonly shard?: Shard | undefined;
  /** What the user typed, for the manifest. */
  readonly command: readonly string[];
}

export interface FailedCell {
  readonly cell: string;
  readonly reason: string;
}

export interface ExperimentResult {
  readonly resultsDir: string;
  readonly accelerator: AcceleratorChoice;
  readonly cells: readonly Cell[];
  readonly failed: readonly FailedCell[];
  readonly skipped: readonly { readonly config: string; readonly reason: string }[];
  /** Counted iterations found on disk from an earlier, interrupted run. */
  readonly resumedIterations: number;
  readonly seed: number;
  readonly wallMs: number;
}

/** What must match for a results directory to be resumed (or shards to be merged). */
export interface Fingerprint {
  readonly tool: string;
  readonly qemuVersion: string;
  readonly accelerator: string;
  readonly hostKernel: string;
  readonly cpuModel: string;
  readonly imageHash: string;
  readonly allocOnceSha256: string;
  readonly kernels: Readonly<Record<string, string>>;
  readonly balloonModuleSha256: string | null;
}

/** Pure: the first field in which two fingerprints differ, as words; undefined when equal. */
export function fingerprintDifference(a: Fingerprint, b: Fingerprint): string | undefined {
  for (const key of Object.keys(a) as (keyof Fingerprint)[]) {
    const [x, y] = [JSON.stringify(a[key]), JSON.stringify(b[key])];
    if (x !== y) return `${key} ${x} vs ${y}`;
  }
  return undefined;
}

interface ManifestCell extends Record<string, unknown> {
  id: string;
  status: "pending" | "running" | "complete" | "failed" | "interrupted";
}

interface ExperimentManifest {
  schema: 2;
  tool: { name: string; version: string };
  createdAt: string;
  runs: { startedAt: string; command: readonly string[]; resumedIterations: number }[];
  host: { kernel: string; cpuModel: string; hostname: string };
  qemu: { path: string; version: string; versionLine: string };
  accelerator: Record<string, unknown> & { used: string };
  image: { hash: string };
  workload: Record<string, unknown>;
  protocol: Record<string, unknown>;
  vm: { machine: string; memoryMiB: number; vcpus: number };
  plan: { hash: string; seed: number; record: Record<string, unknown> };
  shard: Shard | null;
  fingerprint: Fingerprint;
  schedule: { bootOrder: string[] };
  skipped: { config: string; reason: string }[];
  balloon: Record<string, unknown>;
  cells: ManifestCell[];
  boots: Record<string, unknown>[];
}

const ITERATION_TIMEOUT_MS = 10 * 60_000;

async function checkFile(path: string, what: string, hint: string): Promise<void> {
  try {
    if (!(await stat(path)).isFile()) throw new Error("not a file");
  } catch {
    throw new UsageError(`${what} '${path}' does not exist or is not a file`, { hint });
  }
}

/** Does hugetlb have a chance on this kernel? Checked from its config before booting, when known. */
async function hugetlbConfigured(kernel: PreparedKernel, spec: KernelSpec): Promise<boolean> {
  if (spec.modulesDir === undefined) return true;
  const config = await readFile(
    join(spec.modulesDir, "boot", `config-${kernel.release}`),
    "utf8",
  ).catch(() => undefined);
  return config === undefined || /^CONFIG_HUGETLBFS=y$/m.test(config);
}

/**
 * `balloon-bench run`: every cell of the plan, booted in the seeded interleaved order, with
 * results written as they complete. Everything is resolved and checked before the first boot;
 * re-running on the same --out resumes; a failing VM fails its cells, not the run.
 */
export async function runExperiment(
  request: ExperimentRequest,
  reporter: RunReporter,
  onResultsDir?: (dir: string) => void,
): Promise<ExperimentResult> {
  const started = Date.now();
  const { plan } = request;
  for (const spec of plan.kernels) {
    if (!spec.kernelPath.startsWith("debian:")) await readKernelImageHeader(spec.kernelPath);
  }
  if (plan.balloonModule !== undefined) {
    await checkFile(
      plan.balloonModule,
      "balloon module",
      "pass the path of a built virtio_balloon.ko",
    );
  }

  // Feature bits this QEMU cannot offer fail here, before anything boots (or are skipped).
  const qemuPath = await resolveQemuBinary(request.qemu);
  const qemuInfo = await readQemuBinaryInfo(qemuPath);
  const availableProperties = new Set(await readDeviceProperties(qemuPath, "virtio-balloon-pci"));
  const devices = new Map<string, BalloonDeviceSpec>();
  const skipped: { config: string; reason: string }[] = [];
  for (const config of plan.configs) {
    try {
      devices.set(
        config.name,
        balloonDeviceForFeatures({
          bits: config.bits,
          propertyMap: config.propertyMap,
          availableProperties,
          extraProperties: config.deviceProperties,
        }),
      );
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      if (!request.skipUnsupported) {
        throw new UsageError(`config ${config.name}: ${error.message}`, {
          hint: `${error.hint ?? "run `balloon-bench probe`"}; or pass --skip-unsupported to run the other configs`,
        });
      }
      skipped.push({ config: config.name, reason: error.message });
      reporter.log(`skipping config ${config.name}: ${error.message}`);
    }
  }
  const allCells = planCells(plan).filter((cell) => devices.has(cell.config));
  const cells = request.shard === undefined ? allCells : shardCells(allCells, request.shard);
  if (cells.length === 0) {
    throw new UsageError("nothing to run: every config was skipped as unsupported by this QEMU", {
      hint: "run `balloon-bench probe` and pick configs this QEMU can offer",
    });
  }

  const accelerator = chooseAccelerator(plan.accel, await readHostAccelFacts());
  for (const warning of accelerator.warnings) reporter.log(`warning: ${warning}`);
  reporter.log(`accelerator: ${accelerator.accelerator} (${accelerator.reason})`);

  const cache = cacheDir();
  const usedKernels = plan.kernels.filter((k) => cells.some((c) => c.kernel === k.name));
  const kernels = new Map<string, PreparedKernel>();
  const hugetlbOk = new Map<string, boolean>();
  for (const spec of usedKernels) {
    const source = await resolveKernelSource(cache, spec, (line) => reporter.log(line));
    const kernel = await prepareKernel(cache, source, (line) => reporter.log(line));
    kernels.set(spec.name, kernel);
    hugetlbOk.set(spec.name, await hugetlbConfigured(kernel, source));
  }
  const image = await ensureGuestImage(cache, { progress: (line) => reporter.log(line) });
  const allocOnce = await buildAllocOnce(cache);
  const balloonModuleSha256 =
    plan.balloonModule === undefined ? null : await sha256File(plan.balloonModule);

  const fingerprint: Fingerprint = {
    tool: TOOL_VERSION,
    qemuVersion: qemuInfo.version,
    accelerator: accelerator.accelerator,
    hostKernel: release(),
    cpuModel: cpus()[0]?.model ?? "unknown",
    imageHash: image.hash,
    allocOnceSha256: allocOnce.sha256,
    kernels: Object.fromEntries([...kernels].map(([name, k]) => [name, k.sha256])),
    balloonModuleSha256,
  };
  const hash = planHash(plan);
  const { dir: results, manifest: previous } = await ResultsDir.createOrResume(request.out);
  onResultsDir?.(results.path);
  const resumed =
    previous === undefined
      ? undefined
      : checkResumable(
          previous,
          planRecord(plan),
          hash,
          fingerprint,
          plan.seed,
          request.shard,
          request.out,
        );
  const seed = resumed?.plan.seed ?? plan.seed ?? freshSeed();
  const schedule = buildSchedule(plan, cells, seed);

  const done = new Set<string>();
  for (const cell of cells) {
    for (const sample of await results.readSamples(cell.id)) {
      if (!sample.warmup) done.add(iterationKey(cell.id, sample.iteration));
    }
  }
  const boots = remainingSchedule(schedule, done);
  if (resumed !== undefined) {
    reporter.log(
      `resuming ${results.path}: ${done.size} iterations already done, ${boots.length} of ${schedule.boots.length} boots left`,
    );
  }

  const manifest: ExperimentManifest = resumed ?? {
    schema: 2,
    tool: { name: "balloon-bench", version: TOOL_VERSION },
    createdAt: new Date().toISOString(),
    runs: [],
    host: { kernel: release(), cpuModel: fingerprint.cpuModel, hostname: hostname() },
    qemu: { path: qemuPath, version: qemuInfo.version, versionLine: qemuInfo.versionLine },
    accelerator: {
      requested: accelerator.requested,
      used: accelerator.accelerator,
      cpu: accelerator.cpu,
      reason: accelerator.reason,
      warnings: accelerator.warnings,
    },
    image: { hash: image.hash },
    workload: {
      program: "alloc_once",
      sourceSha256: allocOnce.sourceSha256,
      binarySha256: allocOnce.sha256,
    },
    protocol: {
      events: plan.events,
      iterations: plan.iterations,
      warmupsPerBoot: plan.warmups,
      rounds: plan.rounds,
      flushPages: FLUSH_PAGES,
      settleMs: plan.settleMs,
      vmstat: plan.vmstat,
    },
    vm: { machine: "q35", memoryMiB: plan.memoryMiB, vcpus: plan.vcpus },
    plan: { hash, seed, record: planRecord(plan) },
    shard: request.shard ?? null,
    fingerprint,
    schedule: { bootOrder: schedule.boots.map((b) => b.id) },
    skipped,
    balloon: {
      // A user-supplied driver replaces the kernel's in every guest (bench.sh's insmod).
      driverModule:
        plan.balloonModule === undefined
          ? null
          : { path: plan.balloonModule, sha256: balloonModuleSha256 },
    },
    cells: cells.map((cell) => cellRecord(plan, cell, kernels.get(cell.kernel)!)),
    boots: [],
  };
  manifest.runs.push({
    startedAt: new Date().toISOString(),
    command: request.command,
    resumedIterations: done.size,
  });
  const cellById = new Map(manifest.cells.map((c) => [c.id, c]));
  for (const cell of manifest.cells) {
    if (cell.status !== "complete") cell.status = "pending";
    delete cell["error"];
  }
  await results.writeManifest(manifest);

  const total = boots.reduce(
    (sum, b) => sum + b.workloads.reduce((s, w) => s + w.warmups + w.iterations.length, 0),
    0,
  );
  reporter.start(total);
  const failed = new Map<string, string>();
  const runner = new BootRunner({
    plan,
    qemuPath,
    accelerator,
    image,
    allocOnce,
    devices,
    results,
    reporter,
    manifest,
    shard: request.shard,
  });
  for (const boot of boots) {
    if (boot.workloads.every((w) => failed.has(w.cellId))) continue;
    const kernel = kernels.get(boot.kernel)!;
    for (const w of boot.workloads) cellById.get(w.cellId)!.status = "running";
    try {
      await runner.run(boot, kernel, hugetlbOk.get(boot.kernel) ?? true);
    } catch (error) {
      if (runner.interrupted()) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      reporter.log(`boot ${boot.id} failed: ${reason}`);
      const consoleTail = (error as { consoleTail?: unknown }).consoleTail;
      if (typeof consoleTail === "string" && consoleTail !== "") {
        reporter.log(`--- guest console of ${boot.id} (last lines) ---\n${consoleTail}`);
      }
      // A VM that fails takes its kernel × config down for the rest of this run; other cells go on.
      for (const cell of manifest.cells) {
        if (cell["kernelName"] !== boot.kernel || cell["configName"] !== boot.config) continue;
        if (cell.status === "complete") continue;
        cell.status = "failed";
        cell["error"] = reason;
        if (typeof consoleTail === "string" && consoleTail !== "")
          cell["consoleTail"] = consoleTail;
        failed.set(cell.id, reason);
      }
    }
    for (const w of boot.workloads) {
      const cell = cellById.get(w.cellId)!;
      if (cell.status === "running") cell.status = "pending";
    }
    await results.writeManifest(manifest);
  }
  reporter.stop();

  // A cell is complete when all its counted iterations are on disk.
  for (const cell of manifest.cells) {
    if (cell.status === "failed") continue;
    const samples = await results.readSamples(cell.id);
    const counted = new Set(samples.filter((s) => !s.warmup).map((s) => s.iteration));
    cell.status = counted.size >= plan.iterations ? "complete" : "pending";
  }
  await results.writeManifest(manifest);
  return {
    resultsDir: results.path,
    accelerator,
    cells,
    failed: [...failed].map(([cell, reason]) => ({ cell, reason })),
    skipped,
    resumedIterations: done.size,
    seed,
    wallMs: Date.now() - started,
  };
}

function cellRecord(plan: Plan, cell: Cell, kernel: PreparedKernel): ManifestCell {
  const config = plan.configs.find((c) => c.name === cell.config)!;
  const workload = plan.workloads.find((w) => w.name === cell.workload)!;
  return {
    id: cell.id,
    status: "pending",
    kernelName: cell.kernel,
    configName: cell.config,
    kernel: {
      name: kernel.name,
      path: kernel.kernelPath,
      sha256: kernel.sha256,
      release: kernel.release,
      cmdline: kernel.cmdline,
      bootMethod: kernel.bootMethod,
      initramfsModules: kernel.initramfsModules,
      modulesImage: kernel.modulesImagePath !== undefined,
    },
    config: { name: config.name, requestedBits: config.bits },
    workload: cell.workload,
    workloadSpec: {
      sizeMiB: workload.sizeMiB,
      pages: workload.pages,
      balloon: workload.balloon,
    },
  };
}

/** Refuses to resume a directory made by a different plan or on a different setup. */
function checkResumable(
  previous: unknown,
  record: Record<string, unknown>,
  hash: string,
  fingerprint: Fingerprint,
  seed: number | undefined,
  shard: Shard | undefined,
  out: string,
): ExperimentManifest {
  const manifest = previous as Partial<ExperimentManifest>;
  const hint = `run into a new --out directory, or re-run exactly the command that made ${out}`;
  if (manifest.schema !== 2 || manifest.plan === undefined || manifest.fingerprint === undefined) {
    throw new UsageError(`${out} holds results this version cannot resume (imported or older)`, {
      hint: "choose a new --out directory",
    });
  }
  if (manifest.plan.hash !== hash) {
    const difference = firstDifference(manifest.plan.record, record) ?? "plan hash";
    throw new UsageError(`${out} was written by a different plan (${difference})`, { hint });
  }
  if (seed !== undefined && seed !== manifest.plan.seed) {
    throw new UsageError(`${out} was run with seed ${manifest.plan.seed}, not ${seed}`, { hint });
  }
  if (JSON.stringify(manifest.shard ?? null) !== JSON.stringify(shard ?? null)) {
    throw new UsageError(
      `${out} holds shard ${JSON.stringify(manifest.shard ?? null)}, not ${JSON.stringify(shard ?? null)}`,
      { hint },
    );
  }
  const difference = fingerprintDifference(manifest.fingerprint, fingerprint);
  if (difference !== undefined) {
    throw new UsageError(`${out} was measured in a different environment: ${difference}`, { hint });
  }
  return manifest as ExperimentManifest;
}

interface BootRunnerContext {
  readonly plan: Plan;
  readonly qemuPath: string;
  readonly accelerator: AcceleratorChoice;
  readonly image: GuestImage;
  readonly allocOnce: AllocOnceBinary;
  readonly devices: ReadonlyMap<string, BalloonDeviceSpec>;
  readonly results: ResultsDir;
  readonly reporter: RunReporter;
  readonly manifest: ExperimentManifest;
  readonly shard: Shard | undefined;
}

/** Runs one boot: a VM for a kernel × config, its feature check, and each workload's iterations. */
class BootRunner {
  constructor(private readonly ctx: BootRunnerContext) {}

  private get stopping(): boolean {
    return shutdownRequested();
  }

  interrupted(): boolean {
    return shutdownRequested();
  }

  async run(boot: Boot, kernel: PreparedKernel, hugetlbOk: boolean): Promise<void> {
    const { plan, reporter, results, manifest } = this.ctx;
    const config = plan.configs.find((c) => c.name === boot.config)!;
    // Shards of one plan boot the same kernel × config: their log folders must not collide on merge.
    const shard = this.ctx.shard;
    const logDir = await results.freshBootDir(
      shard === undefined ? boot.id : `${boot.id}__shard${shard.index}of${shard.count}`,
    );
    const bootRecord: Record<string, unknown> = {
      id: boot.id,
      round: boot.round,
      kernel: boot.kernel,
      config: boot.config,
      logDir: logDir.slice(results.path.length + 1),
      startedAt: new Date().toISOString(),
      status: "booting",
    };
    manifest.boots.push(bootRecord);
    await results.writeManifest(manifest);
    reporter.cell(boot.workloads[0]?.cellId ?? boot.id);
    reporter.log(
      `boot ${boot.id}: ${kernel.name} (${kernel.release}) under ${this.ctx.accelerator.accelerator}, ${plan.memoryMiB} MiB, ${plan.vcpus} vCPUs, bits ${config.bits.join(",") || "none"}`,
    );
    try {
      await using guest = await bootGuest({
        qemuPath: this.ctx.qemuPath,
        accelerator: this.ctx.accelerator,
        kernel,
        image: this.ctx.image,
        memoryMiB: plan.memoryMiB,
        vcpus: plan.vcpus,
        balloon: this.ctx.devices.get(boot.config)!,
        logDir,
        bootTimeoutMs: plan.bootTimeoutMs,
        deferBalloonModule: plan.balloonModule !== undefined,
      });
      bootRecord["bootToSshMs"] = guest.bootToSshMs;
      const facts = await this.setUpGuest(guest);
      const features = await this.verifyFeatures(guest, facts, boot, config.bits);
      Object.assign(bootRecord, { status: "running", features, guest: guestRecord(facts) });
      for (const w of boot.workloads) {
        const cell = manifest.cells.find((c) => c.id === w.cellId)!;
        Object.assign(cell, {
          features,
          guest: guestRecord(facts),
          bootToSshMs: guest.bootToSshMs,
        });
      }
      await results.writeManifest(manifest);
      if (plan.guestStats) await setGuestStatsPolling(guest.vm.qmp, 1);
      for (const workload of boot.workloads) {
        await this.runWorkload(guest, facts, boot, workload, hugetlbOk, kernel.name);
      }
      const stop = await guest.stop();
      Object.assign(bootRecord, { status: "complete", shutdown: stop.method });
    } catch (error) {
      Object.assign(bootRecord, {
        status: this.stopping ? "interrupted" : "failed",
        error: error instanceof Error ? error.message : String(error),
      });
      if (!(error instanceof BalloonBenchError) || !("consoleTail" in error)) {
        const tail = await readTail(join(logDir, "console.log"), 20).catch(() => "");
        if (tail !== "") bootRecord["consoleTail"] = tail;
        if (error instanceof Error && tail !== "") Object.assign(error, { consoleTail: tail });
      }
      throw error;
    } finally {
      bootRecord["endedAt"] = new Date().toISOString();
      await results.writeManifest(manifest);
    }
  }

  /** Uploads alloc_once (and a user's virtio_balloon.ko, as bench.sh does) and reads the guest's facts. */
  private async setUpGuest(guest: GuestVm): Promise<GuestFacts> {
    const { plan } = this.ctx;
    // The facts script also creates the work directory the uploads go to.
    const facts = parseGuestFacts((await guest.ssh.execShell(GUEST_FACTS_SCRIPT)).stdout);
    await guest.ssh.writeFile(GUEST_ALLOC_ONCE, await readFile(this.ctx.allocOnce.path), 0o755);
    if (plan.balloonModule === undefined) return facts;
    if (facts.balloonDriver !== undefined && facts.balloonDriver !== "virtio_balloon") {
      throw new UsageError(`the guest's balloon is bound to '${facts.balloonDriver}'`, {
        hint: "drop the balloon module",
      });
    }
    await guest.ssh.writeFile(GUEST_BALLOON_MODULE, await readFile(plan.balloonModule), 0o644);
    const removed = await guest.ssh.exec(["rmmod", "virtio_balloon"]);
    if (removed.exitCode !== 0 && /builtin|built-in/i.test(removed.stderr)) {
      throw new UsageError(
        `kernel ${facts.unameR} has virtio_balloon built in, so a balloon module cannot replace it`,
        { hint: "build the kernel with CONFIG_VIRTIO_BALLOON=m, or drop the balloon module" },
      );
    }
    await guest.ssh.run(["insmod", GUEST_BALLOON_MODULE]);
    // The driver negotiates features when it binds; give sysfs a moment to show the device.
    await sleep(200);
    return parseGuestFacts((await guest.ssh.execShell(GUEST_FACTS_SCRIPT)).stdout);
  }

  /**
   * Requested bits, bits the device offers (QMP) and bits the driver negotiated (QMP and sysfs).
   * A requested bit that was not negotiated is a finding, in words, not a failure.
   */
  private async verifyFeatures(
    guest: GuestVm,
    facts: GuestFacts,
    boot: Boot,
    requested: readonly number[],
  ): Promise<Record<string, unknown>> {
    const status = await guest.vm.qmp.execute("x-query-virtio-status", {
      path: BALLOON_VIRTIO_PATH,
    });
    const decoded = decodeVirtioStatus(status);
    const negotiatedSysfs = decodeSysfsFeatureString(facts.balloonFeatures ?? "");
    const findings = featureFindings(
      requested,
      decoded.offered.balloonBits,
      negotiatedSysfs,
      boot.kernel,
    );
    for (const finding of findings) this.ctx.reporter.log(`warning: ${finding}`);
    this.ctx.reporter.log(
      `guest: ${facts.unameR}; balloon bits offered ${decoded.offered.balloonBits.join(",") || "none"}, negotiated ${negotiatedSysfs.join(",") || "none"} (requested ${requested.join(",") || "none"})`,
    );
    return {
      requested,
      offered: decoded.offered.balloonBits,
      negotiatedQmp: decoded.negotiated.balloonBits,
      negotiatedSysfs,
      sysfsString: facts.balloonFeatures ?? null,
      verified: findings.length === 0,
      findings,
    };
  }

  private async runWorkload(
    guest: GuestVm,
    facts: GuestFacts,
    boot: Boot,
    w: BootWorkload,
    hugetlbOk: boolean,
    kernelName: string,
  ): Promise<void> {
    const { plan, results, reporter } = this.ctx;
    const workload = plan.workloads.find((x) => x.name === w.workload)!;
    const huge = workload.pages === "hugetlb";
    if (huge && (!hugetlbOk || !facts.hasHugetlb)) {
      throw new UsageError(
        `workload ${workload.name} needs hugetlb, but kernel ${kernelName} has no hugetlb support`,
        { hint: "use pages other than hugetlb, or a kernel with CONFIG_HUGETLBFS=y" },
      );
    }
    reporter.cell(w.cellId);
    const originalThp = activeThpSetting(facts.thp);
    const thp = thpSettingFor(workload.pages) ?? originalThp;
    if (thp !== undefined && thp !== originalThp) await guest.ssh.run(setThpArgv(thp));
    if (huge) {
      await guest.ssh.run(setHugetlbOvercommitArgv(hugetlbOvercommitPages(workload.sizeMiB)));
    }
    const settle: SettleMode =
      workload.balloon.kind !== "page-reporting"
        ? { method: "none" }
        : facts.hasFlush
          ? { method: "flush", pages: FLUSH_PAGES }
          : { method: "sleep", ms: plan.settleMs };
    const csvName = await results.freshRawCsvName(w.cellId, boot.round);
    const guestCsv = `${GUEST_WORK_DIR}/${w.cellId}.csv`;
    await guest.ssh.run(["rm", "-f", guestCsv]);
    const steps = [
      ...Array.from({ length: w.warmups }, (_, i) => ({ warmup: true, iteration: i + 1 })),
      ...w.iterations.map((iteration) => ({ warmup: false, iteration })),
    ];
    const fullBytes = plan.memoryMiB * MiB;
    for (const [runIndex, step] of steps.entries()) {
      if (this.stopping) throw new BalloonBenchError("interrupted");
      const startedAt = new Date();
      const rssBeforeBytes = await readRssBytes(guest.vm.pid);
      let inflate: IterationTelemetry["inflate"];
      if (workload.balloon.kind === "inflate-deflate") {
        const targetBytes = fullBytes - workload.balloon.inflateMiB * MiB;
        const timeoutMs = workload.balloon.timeoutMs;
        const down = await moveBalloon(guest.vm.qmp, targetBytes, { timeoutMs });
        const rssInflatedBytes = await readRssBytes(guest.vm.pid);
        const up = await moveBalloon(guest.vm.qmp, fullBytes, { timeoutMs });
        inflate = {
          targetBytes,
          inflateMs: down.durationMs,
          deflateMs: up.durationMs,
          rssInflatedBytes,
        };
      }
      const t0 = Date.now();
      const result = await guest.ssh.exec(
        iterationArgv({
          events: plan.events,
          sizeMiB: workload.sizeMiB,
          huge,
          settle,
          csvPath: guestCsv,
          vmstat: plan.vmstat,
        }),
        { timeoutMs: ITERATION_TIMEOUT_MS },
      );
      const wallMs = Date.now() - t0;
      if (result.exitCode !== 0) {
        throw new GuestCommandError(
          ["perf", "stat", "...", GUEST_ALLOC_ONCE, String(workload.sizeMiB)],
          result.exitCode,
          result.signal,
          describeIterationFailure(result.exitCode) ?? result.stderr,
        );
      }
      await results.writeRawCsv(w.cellId, result.stdout, csvName);
      const runs = parsePerfStatCsv(result.stdout, { separator: "," });
      const last = runs.at(-1);
      if (last === undefined || runs.length !== runIndex + 1) {
        throw new GuestCommandError(
          ["perf", "stat"],
          0,
          undefined,
          `expected ${runIndex + 1} runs in the perf CSV, found ${runs.length}`,
        );
      }
      const telemetry: IterationTelemetry = {
        rssBeforeBytes,
        rssAfterBytes: await readRssBytes(guest.vm.pid),
        balloonActualBytes: await queryBalloonActualBytes(guest.vm.qmp),
        vmstatDeltas: parseVmstatDeltas(result.stderr),
        ...(inflate === undefined ? {} : { inflate }),
        ...(plan.guestStats
          ? { guestStats: (await readGuestMemoryStats(guest.vm.qmp)).stats }
          : {}),
      };
      const times = parseIterationTimes(result.stderr);
      const sample: Sample = {
        schema: 1,
        cell: w.cellId,
        kernel: boot.kernel,
        config: boot.config,
        workload: workload.name,
        iteration: step.iteration,
        warmup: step.warmup,
        startedAt: startedAt.toISOString(),
        wallMs,
        guestPrepareMs: times?.prepareMs,
        guestPerfMs: times?.perfMs,
        settle:
          settle.method === "flush"
            ? { method: "flush", flushPages: settle.pages }
            : settle.method === "sleep"
              ? { method: "sleep", sleptMs: settle.ms }
              : { method: "none" },
        counters: countersFromPerfRun(last),
        round: boot.round,
        boot: boot.id,
        rawCsv: csvName,
        perfRun: runIndex,
        telemetry,
      };
      await results.appendSample(sample);
      reporter.iteration({
        cell: w.cellId,
        round: boot.round,
        warmup: step.warmup,
        iteration: step.iteration,
        of: step.warmup ? w.warmups : plan.iterations,
        taskClockMs: sample.counters["task-clock"]?.value ?? undefined,
        wallMs,
      });
    }
    if (huge) await guest.ssh.run(setHugetlbOvercommitArgv(0));
    if (thp !== originalThp && originalThp !== undefined)
      await guest.ssh.run(setThpArgv(originalThp));
  }
}

function guestRecord(facts: GuestFacts): Record<string, unknown> {
  return {
    unameR: facts.unameR,
    thp: facts.thp,
    memTotalKiB: facts.memTotalKiB,
    perf: facts.perfVersion,
    balloonDriver: facts.balloonDriver,
    hasFlush: facts.hasFlush,
  };
}

/** Pure: what went wrong between requested, offered and negotiated bits, in words. */
export function featureFindings(
  requested: readonly number[],
  offered: readonly number[],
  negotiated: readonly number[],
  kernel: string,
): string[] {
  const findings: string[] = [];
  for (const bit of requested) {
    if (!offered.includes(bit)) {
      findings.push(`bit ${bit} requested, but the device did not offer it`);
    } else if (!negotiated.includes(bit)) {
      findings.push(`bit ${bit} requested and offered, but kernel ${kernel} did not negotiate it`);
    }
  }
  return findings;
}

/** sha256 of a plan file's text, recorded alongside the plan hash. */
export function textSha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
