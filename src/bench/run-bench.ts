import { cpus, hostname, release } from "node:os";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { balloonDeviceForFeatures } from "../balloon/balloon-device.js";
import { decodeSysfsFeatureString, decodeVirtioStatus } from "../balloon/device-features.js";
import { UsageError, VmLaunchError } from "../errors.js";
import { readTail } from "../util/file-tail.js";
import { GuestCommandError } from "../guest/guest-errors.js";
import { bootGuest, type GuestVm } from "../guest/guest-vm.js";
import { ensureGuestImage, type GuestImage } from "../image/guest-image.js";
import { fetchDebianKernel, resolveDebianKernel } from "../kernel/debian-kernel.js";
import { prepareKernel, type PreparedKernel } from "../kernel/prepared-kernel.js";
import { readKernelImageHeader, sha256File } from "../kernel/kernel-image.js";
import type { KernelSpec } from "../kernel/kernel-spec.js";
import { parsePerfStatCsv } from "../perf/perf-csv.js";
import { BALLOON_VIRTIO_PATH } from "../probe/probe.js";
import {
  chooseAccelerator,
  readHostAccelFacts,
  type AcceleratorChoice,
} from "../qemu/accelerator.js";
import {
  readDeviceProperties,
  readQemuBinaryInfo,
  resolveQemuBinary,
} from "../qemu/qemu-binary.js";
import { ResultsDir, cellId } from "../results/results-dir.js";
import { countersFromPerfRun, type Sample } from "../results/sample.js";
import { summarizeSamples, type EventSummary } from "../results/summary.js";
import { cacheDir } from "../util/paths.js";
import { TOOL_VERSION } from "../version.js";
import { buildAllocOnce, type AllocOnceBinary } from "../workload/alloc-once.js";
import {
  FLUSH_PAGES,
  GUEST_ALLOC_ONCE,
  GUEST_BALLOON_MODULE,
  GUEST_FACTS_SCRIPT,
  describeIterationFailure,
  hugetlbOvercommitPages,
  iterationArgv,
  parseGuestFacts,
  parseIterationTimes,
  setHugetlbOvercommitArgv,
  type GuestFacts,
  type SettleMode,
} from "./guest-protocol.js";
import { validateRunOptions, type RunOptions } from "./run-options.js";

export interface CellResult {
  readonly id: string;
  readonly kernel: string;
  readonly config: string;
  readonly workload: string;
  readonly summaries: readonly EventSummary[];
  readonly bootToSshMs: number;
  /** Wall time of all iterations (SSH round trips included), settle time, and time in alloc_once. */
  readonly iterationsWallMs: number;
  readonly settleMs: number;
  readonly taskClockMs: number;
  readonly samples: readonly Sample[];
  readonly facts: GuestFacts;
  readonly negotiatedBits: readonly number[];
  readonly requestedBits: readonly number[];
}

export interface RunResult {
  readonly resultsDir: string;
  readonly accelerator: AcceleratorChoice;
  readonly cells: readonly CellResult[];
  readonly wallMs: number;
}

export type Progress = (line: string) => void;

export function configName(bits: readonly number[]): string {
  return bits.length === 0 ? "no-features" : `bits-${bits.join("-")}`;
}

export function workloadName(sizeMiB: number, huge: boolean): string {
  return `alloc_once-${sizeMiB}M${huge ? "-huge" : ""}`;
}

async function checkFile(path: string, what: string, hint: string): Promise<void> {
  try {
    if (!(await stat(path)).isFile()) throw new Error("not a file");
  } catch {
    throw new UsageError(`${what} '${path}' does not exist or is not a file`, { hint });
  }
}

/** Does `--huge` have a chance on this kernel? Checked from its config before booting, when known. */
async function assertHugetlbConfigured(kernel: PreparedKernel, spec: KernelSpec): Promise<void> {
  if (spec.modulesDir === undefined) return;
  const config = await readFile(
    join(spec.modulesDir, "boot", `config-${kernel.release}`),
    "utf8",
  ).catch(() => undefined);
  if (config !== undefined && !/^CONFIG_HUGETLBFS=y$/m.test(config)) {
    throw new UsageError(
      `--huge needs hugetlb support, but kernel ${kernel.name} was built without CONFIG_HUGETLBFS`,
      {
        hint: "drop --huge or use a kernel with CONFIG_HUGETLBFS=y",
      },
    );
  }
}

/**
 * `balloon-bench run`: for each kernel build, boot a guest, follow bench.sh, and record raw CSV,
 * samples, console log and manifest. Everything a run depends on is resolved and checked first.
 */
export async function runBench(options: RunOptions, progress: Progress): Promise<RunResult> {
  const started = Date.now();
  validateRunOptions(options);
  // Kernel files are checked before anything is printed or fetched: a typo fails in one line.
  for (const spec of options.kernels) {
    if (!spec.kernelPath.startsWith("debian:")) await readKernelImageHeader(spec.kernelPath);
  }
  if (options.balloonModule !== undefined) {
    await checkFile(
      options.balloonModule,
      "--balloon-module",
      "pass the path of a built virtio_balloon.ko",
    );
  }
  const qemuPath = await resolveQemuBinary(options.qemu);
  const qemuInfo = await readQemuBinaryInfo(qemuPath);
  const availableProperties = new Set(await readDeviceProperties(qemuPath, "virtio-balloon-pci"));
  const balloon = balloonDeviceForFeatures({
    bits: options.features,
    propertyMap: options.propertyMap,
    availableProperties,
  });
  const accelerator = chooseAccelerator(options.accel, await readHostAccelFacts());
  for (const warning of accelerator.warnings) progress(`warning: ${warning}`);
  progress(`accelerator: ${accelerator.accelerator} (${accelerator.reason})`);

  const cache = cacheDir();
  const specs = await resolveKernelSpecs(cache, options.kernels, progress);
  const kernels: PreparedKernel[] = [];
  for (const spec of specs) {
    const kernel = await prepareKernel(cache, spec, progress);
    if (options.huge) await assertHugetlbConfigured(kernel, spec);
    kernels.push(kernel);
  }
  const image = await ensureGuestImage(cache, { progress });
  const allocOnce = await buildAllocOnce(cache);
  const results = await ResultsDir.create(options.out);
  const config = configName(options.features);
  const workload = workloadName(options.sizeMiB, options.huge);

  const manifest = {
    schema: 1,
    tool: { name: "balloon-bench", version: TOOL_VERSION },
    createdAt: new Date().toISOString(),
    command: process.argv.slice(2),
    host: { kernel: release(), cpuModel: cpus()[0]?.model ?? "unknown", hostname: hostname() },
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
      sizeMiB: options.sizeMiB,
      huge: options.huge,
    },
    protocol: {
      events: options.events,
      iterations: options.iterations,
      warmups: options.warmups,
      flushPages: FLUSH_PAGES,
      settleMs: options.settleMs,
    },
    vm: { machine: "q35", memoryMiB: options.memoryMiB, vcpus: options.vcpus },
    balloon: {
      requestedBits: options.features,
      device: balloon,
      propertyMap: Object.fromEntries(options.propertyMap),
      // A user-supplied driver replaces the kernel's in every guest (bench.sh's insmod).
      driverModule:
        options.balloonModule === undefined
          ? null
          : { path: options.balloonModule, sha256: await sha256File(options.balloonModule) },
    },
    cells: [] as Record<string, unknown>[],
  };
  await results.writeManifest(manifest);

  const cells: CellResult[] = [];
  for (const kernel of kernels) {
    const id = cellId(kernel.name, config, workload);
    const cellRecord: Record<string, unknown> = {
      id,
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
      config: { name: config, requestedBits: options.features },
      workload,
      status: "running",
    };
    manifest.cells.push(cellRecord);
    await results.writeManifest(manifest);
    try {
      const cell = await runCell({
        options,
        qemuPath,
        accelerator,
        kernel,
        image,
        allocOnce,
        balloon,
        results,
        id,
        config,
        workload,
        progress,
        cellRecord,
      });
      cells.push(cell);
      cellRecord["status"] = "complete";
    } catch (error) {
      cellRecord["status"] = "failed";
      cellRecord["error"] = (error as Error).message;
      await results.writeManifest(manifest);
      throw error;
    }
    await results.writeManifest(manifest);
  }
  return { resultsDir: results.path, accelerator, cells, wallMs: Date.now() - started };
}

/** The kernel builds to boot: each `--kernel` (fetching `debian:FLAVOUR`), else Debian's stock one. */
export async function resolveKernelSpecs(
  cache: string,
  kernels: readonly KernelSpec[],
  progress: Progress,
): Promise<KernelSpec[]> {
  const specs: KernelSpec[] = [];
  for (const spec of kernels) specs.push(await resolveKernelSource(cache, spec, progress));
  if (specs.length === 0) {
    const pkg = await resolveDebianKernel();
    progress(`kernel: Debian's stock kernel ${pkg.packageName} ${pkg.version} (no --kernel given)`);
    specs.push(await fetchDebianKernel(cache, pkg, "debian-stock"));
  }
  return specs;
}

/** `--kernel NAME=debian:FLAVOUR` fetches Debian's current kernel of that flavour. */
async function resolveKernelSource(
  cache: string,
  spec: KernelSpec,
  progress: Progress,
): Promise<KernelSpec> {
  const debian = /^debian:(.+)$/.exec(spec.kernelPath);
  if (debian?.[1] === undefined) return spec;
  if (spec.modulesDir !== undefined) {
    throw new UsageError(`--kernel ${spec.name}=debian:${debian[1]} brings its own modules`, {
      hint: "drop modules=",
    });
  }
  const pkg = await resolveDebianKernel(debian[1]);
  progress(`kernel: ${spec.name} is Debian's ${pkg.packageName} ${pkg.version}`);
  const fetched = await fetchDebianKernel(cache, pkg, spec.name);
  return { ...fetched, cmdline: spec.cmdline };
}

interface CellContext {
  readonly options: RunOptions;
  readonly qemuPath: string;
  readonly accelerator: AcceleratorChoice;
  readonly kernel: PreparedKernel;
  readonly image: GuestImage;
  readonly allocOnce: AllocOnceBinary;
  readonly balloon: ReturnType<typeof balloonDeviceForFeatures>;
  readonly results: ResultsDir;
  readonly id: string;
  readonly config: string;
  readonly workload: string;
  readonly progress: Progress;
  readonly cellRecord: Record<string, unknown>;
}

async function runCell(ctx: CellContext): Promise<CellResult> {
  const { options, kernel, progress, results, id } = ctx;
  progress(
    `boot: ${kernel.name} (${kernel.release}) under ${ctx.accelerator.accelerator}, ${options.memoryMiB} MiB, ${options.vcpus} vCPUs`,
  );
  await using guest = await bootGuest({
    qemuPath: ctx.qemuPath,
    accelerator: ctx.accelerator,
    kernel,
    image: ctx.image,
    memoryMiB: options.memoryMiB,
    vcpus: options.vcpus,
    balloon: ctx.balloon,
    logDir: await results.cellDir(id),
    bootTimeoutMs: options.bootTimeoutMs,
    deferBalloonModule: options.balloonModule !== undefined,
  });
  progress(`boot: SSH answered ${(guest.bootToSshMs / 1000).toFixed(1)} s after QEMU started`);
  const facts = await setUpGuest(guest, ctx);
  if (kernel.modulesImagePath !== undefined && !facts.hasModulesTree) {
    throw new VmLaunchError(
      `guest ${kernel.name} booted without its modules tree on /lib/modules/${facts.unameR}`,
      {
        command: guest.vm.command,
        consoleTail: await readTail(guest.vm.consolePath ?? "", 40),
        hint: "the guest could not mount its modules disk; rebuild the image with `balloon-bench image build --force`",
      },
    );
  }
  const status = await guest.vm.qmp.execute("x-query-virtio-status", { path: BALLOON_VIRTIO_PATH });
  const decoded = decodeVirtioStatus(status);
  const negotiatedSysfs = decodeSysfsFeatureString(facts.balloonFeatures ?? "");
  Object.assign(ctx.cellRecord, {
    guest: {
      unameR: facts.unameR,
      thp: facts.thp,
      memTotalKiB: facts.memTotalKiB,
      perf: facts.perfVersion,
      balloonDriver: facts.balloonDriver,
    },
    features: {
      requested: options.features,
      offered: decoded.offered.balloonBits,
      negotiatedQmp: decoded.negotiated.balloonBits,
      negotiatedSysfs,
      sysfsString: facts.balloonFeatures ?? null,
    },
    bootToSshMs: guest.bootToSshMs,
  });
  if (facts.unameR !== kernel.release) {
    progress(
      `warning: guest reports uname -r ${facts.unameR}, the kernel image says ${kernel.release}`,
    );
  }
  const missing = options.features.filter((bit) => !negotiatedSysfs.includes(bit));
  for (const bit of missing)
    progress(`warning: bit ${bit} was requested but the guest driver did not negotiate it`);
  progress(
    `guest: ${facts.unameR}; balloon bits negotiated: ${negotiatedSysfs.join(", ") || "none"} (requested ${options.features.join(", ") || "none"})`,
  );

  const settle: SettleMode = facts.hasFlush
    ? { method: "flush", pages: FLUSH_PAGES }
    : { method: "sleep", ms: options.settleMs };
  if (!facts.hasFlush) {
    progress(
      `settle: kernel has no page_reporting flush parameter; waiting ${options.settleMs} ms before each iteration instead`,
    );
  }
  ctx.cellRecord["settle"] = settle;
  if (options.huge) {
    if (!facts.hasHugetlb) {
      throw new UsageError(
        `--huge needs hugetlb support, but kernel ${kernel.name} has no /proc/sys/vm/nr_overcommit_hugepages`,
        {
          hint: "drop --huge or use a kernel with CONFIG_HUGETLBFS=y",
        },
      );
    }
    await guest.ssh.run(setHugetlbOvercommitArgv(hugetlbOvercommitPages(options.sizeMiB)));
  }

  const samples: Sample[] = [];
  let iterationsWallMs = 0;
  const total = options.warmups + options.iterations;
  for (let index = 0; index < total; index++) {
    const warmup = index < options.warmups;
    const iteration = warmup ? index + 1 : index - options.warmups + 1;
    const startedAt = new Date();
    const t0 = Date.now();
    const result = await guest.ssh.exec(
      iterationArgv({
        events: options.events,
        sizeMiB: options.sizeMiB,
        huge: options.huge,
        settle,
      }),
      { timeoutMs: 10 * 60_000 },
    );
    const wallMs = Date.now() - t0;
    iterationsWallMs += wallMs;
    if (result.exitCode !== 0) {
      const ours = describeIterationFailure(result.exitCode);
      throw new GuestCommandError(
        ["perf", "stat", "...", GUEST_ALLOC_ONCE, String(options.sizeMiB)],
        result.exitCode,
        result.signal,
        ours ?? result.stderr,
      );
    }
    await results.writeRawCsv(id, result.stdout);
    const runs = parsePerfStatCsv(result.stdout, { separator: "," });
    const last = runs.at(-1);
    if (last === undefined || runs.length !== index + 1) {
      throw new GuestCommandError(
        ["perf", "stat"],
        0,
        undefined,
        `expected ${index + 1} runs in the perf CSV, found ${runs.length}`,
      );
    }
    const times = parseIterationTimes(result.stderr);
    const sample: Sample = {
      schema: 1,
      cell: id,
      kernel: kernel.name,
      config: ctx.config,
      workload: ctx.workload,
      iteration,
      warmup,
      startedAt: startedAt.toISOString(),
      wallMs,
      guestPrepareMs: times?.prepareMs,
      guestPerfMs: times?.perfMs,
      settle:
        settle.method === "flush"
          ? { method: "flush", flushPages: settle.pages }
          : { method: "sleep", sleptMs: settle.ms },
      counters: countersFromPerfRun(last),
    };
    await results.appendSample(sample);
    samples.push(sample);
    const taskClock = sample.counters["task-clock"];
    progress(
      `${warmup ? "warm-up" : "iteration"} ${iteration}/${warmup ? options.warmups : options.iterations}: ${
        taskClock?.value != null ? `task-clock ${taskClock.value.toFixed(1)} ms` : "done"
      } (wall ${(wallMs / 1000).toFixed(2)} s)`,
    );
  }
  if (options.huge) await guest.ssh.run(setHugetlbOvercommitArgv(0));
  const stop = await guest.stop();
  ctx.cellRecord["shutdown"] = stop.method;

  const counted = samples.filter((s) => !s.warmup);
  const taskClockMs = counted.reduce((sum, s) => sum + (s.counters["task-clock"]?.value ?? 0), 0);
  return {
    id,
    kernel: kernel.name,
    config: ctx.config,
    workload: ctx.workload,
    summaries: summarizeSamples(samples),
    bootToSshMs: guest.bootToSshMs,
    iterationsWallMs,
    settleMs: settle.method === "sleep" ? settle.ms * total : 0,
    taskClockMs,
    samples,
    facts,
    negotiatedBits: decodeSysfsFeatureString(facts.balloonFeatures ?? ""),
    requestedBits: options.features,
  };
}

/** Uploads alloc_once (and a user's virtio_balloon.ko, as bench.sh does) and reads the guest's facts. */
async function setUpGuest(guest: GuestVm, ctx: CellContext): Promise<GuestFacts> {
  // The facts script also creates the work directory the uploads go to.
  const facts = parseGuestFacts((await guest.ssh.execShell(GUEST_FACTS_SCRIPT)).stdout);
  await guest.ssh.writeFile(GUEST_ALLOC_ONCE, await readFile(ctx.allocOnce.path), 0o755);
  if (ctx.options.balloonModule === undefined) return facts;
  await guest.ssh.writeFile(GUEST_BALLOON_MODULE, await readFile(ctx.options.balloonModule), 0o644);
  await guest.ssh.exec(["rmmod", "virtio_balloon"]);
  await guest.ssh.run(["insmod", GUEST_BALLOON_MODULE]);
  // The driver negotiates features when it binds; give sysfs a moment to show the device.
  await sleep(200);
  return parseGuestFacts((await guest.ssh.execShell(GUEST_FACTS_SCRIPT)).stdout);
}
