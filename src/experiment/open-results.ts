import { readdir } from "node:fs/promises";
import { resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import { formatCpuOrder } from "../core/host/cpu-list.js";
import { describeHostDifference, hostSettingDifferences } from "../core/host/host-state.js";
import { planRecord, type Cell, type Plan } from "../core/plan/plan.js";
import { hugetlbCaveats } from "../core/plan/vm-options.js";
import { guestPmu } from "../core/qemu/accelerator.js";
import { buildSchedule, freshSeed, iterationKey, type Schedule } from "../core/plan/schedule.js";
import { FLUSH_PAGES } from "../core/protocol/guest-protocol.js";
import { compatible, runIdentity, type RunIdentity } from "../core/results-format/compatible.js";
import {
  MANIFEST_SCHEMA,
  type Manifest,
  type RunCell,
  type RunManifest,
} from "../core/results-format/manifest.js";
import type { Shard } from "../core/plan/shard.js";
import type { MachineKernel } from "../machine/prepare-machine.js";
import { TOOL_VERSION } from "../version.js";
import { ManifestStore } from "./manifest-store.js";
import type { Setup } from "./preflight.js";
import { MANIFEST_FILE, MIN_FREE_MIB, ResultsDir } from "./results-dir.js";
import { checkUsableDir } from "../util/usable-dir.js";
import { LOCK_FILE, ResultsLock } from "./results-lock.js";

export interface OpenedResults {
  readonly results: ResultsDir;
  /** The run's hold on the directory: one writer per results directory. */
  readonly lock: ResultsLock;
  readonly store: ManifestStore;
  readonly schedule: Schedule;
  /** Counted iterations already on disk ("cell#iteration"), from an earlier, interrupted run. */
  readonly done: ReadonlySet<string>;
  readonly resumed: boolean;
}

/** Refuses to resume a directory made by a different plan, seed, shard or environment. */
function checkResumable(previous: RunManifest, next: RunIdentity, out: string): void {
  const conflict = compatible(runIdentity(previous), next, "resume");
  if (conflict === undefined) return;
  const hint = `run into a new --out directory, or re-run exactly the command that made ${out}`;
  switch (conflict.field) {
    case "plan":
      throw new UsageError(`${out} was written by a different plan (${conflict.detail})`, { hint });
    case "seed":
      throw new UsageError(`${out} was run with seed ${conflict.a}, not ${conflict.b}`, { hint });
    case "shard":
      throw new UsageError(`${out} holds shard ${conflict.a}, not ${conflict.b}`, { hint });
    case "fingerprint":
      throw new UsageError(`${out} was measured in a different environment: ${conflict.detail}`, {
        hint,
      });
  }
}

function cellRecord(setup: Setup, cell: Cell, kernel: MachineKernel): RunCell {
  const config = setup.plan.configs.find((c) => c.name === cell.config);
  const workload = setup.plan.workloads.find((w) => w.name === cell.workload);
  if (config === undefined || workload === undefined)
    throw new Error(`cell ${cell.id} is not in the plan`);
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
      cmdline: [...kernel.cmdline],
      bootMethod: kernel.bootMethod,
      initramfsModules: [...kernel.initramfsModules],
      modulesImage: kernel.modulesImagePath !== undefined,
      ...(kernel.built === undefined
        ? {}
        : { build: { ...kernel.built, patches: [...kernel.built.patches] } }),
    },
    config: { name: config.name, requestedBits: [...config.bits] },
    workload: cell.workload,
    workloadSpec: { sizeMiB: workload.sizeMiB, pages: workload.pages, balloon: workload.balloon },
  };
}

/** The environment part of a new manifest: host, QEMU, accelerator, image, workload binary. */
function environmentRecord(
  setup: Setup,
  host: RunManifest["host"],
): Pick<RunManifest, "host" | "qemu" | "accelerator" | "image" | "workload"> {
  const { machine } = setup;
  return {
    host,
    qemu: {
      path: machine.qemu.path,
      version: machine.qemu.info.version,
      versionLine: machine.qemu.info.versionLine,
    },
    accelerator: {
      requested: machine.accelerator.requested,
      used: machine.accelerator.accelerator,
      cpu: machine.accelerator.cpu,
      reason: machine.accelerator.reason,
      warnings: [...machine.accelerator.warnings],
      guestPmu: guestPmu(machine.accelerator).visible,
    },
    image: { hash: machine.image.hash },
    workload: {
      program: "alloc_once",
      sourceSha256: setup.workload.sourceSha256,
      binarySha256: setup.workload.sha256,
    },
  };
}

/** The VM every boot of the run is: size, guest memory, pinning, and the caveats run anyway. */
function vmRecord(plan: Plan): RunManifest["vm"] {
  const caveats = hugetlbCaveats(plan);
  return {
    machine: "q35",
    memoryMiB: plan.memoryMiB,
    vcpus: plan.vcpus,
    memMerge: plan.memMerge,
    memoryBacking: plan.memoryBacking,
    ...(plan.pin === undefined ? {} : { pin: formatCpuOrder(plan.pin) }),
    ...(caveats.length === 0 ? {} : { caveats }),
  };
}

/** Pure: the manifest of a new run, before any boot. */
export function newRunManifest(
  setup: Setup,
  seed: number,
  schedule: Schedule,
  shard: Shard | undefined,
  host: { kernel: string; cpuModel: string; hostname: string },
  createdAt: string,
): RunManifest {
  const { plan, machine } = setup;
  const kernelOf = (name: string): MachineKernel => {
    const kernel = machine.kernels.get(name);
    if (kernel === undefined) throw new Error(`kernel ${name} was not prepared`);
    return kernel;
  };
  return {
    schema: MANIFEST_SCHEMA,
    kind: "run",
    tool: { name: "balloon-bench", version: TOOL_VERSION },
    createdAt,
    runs: [],
    ...environmentRecord(setup, host),
    protocol: {
      events: [...plan.events],
      iterations: plan.iterations,
      warmupsPerBoot: plan.warmups,
      rounds: plan.rounds,
      flushPages: FLUSH_PAGES,
      settleMs: plan.settleMs,
      ...(plan.settleMode === undefined ? {} : { settleMode: plan.settleMode }),
      vmstat: [...plan.vmstat],
    },
    vm: vmRecord(plan),
    plan: { hash: setup.planHash, seed, record: planRecord(plan) },
    shard: shard ?? null,
    fingerprint: setup.fingerprint,
    ...(machine.hostState === undefined ? {} : { hostState: machine.hostState }),
    schedule: { bootOrder: schedule.boots.map((b) => b.id) },
    skipped: setup.skipped.map((s) => ({ ...s })),
    balloon: {
      // A user-supplied driver replaces the kernel's in every guest (bench.sh's insmod).
      driverModule:
        setup.balloonModule === undefined
          ? null
          : { path: setup.balloonModule.path, sha256: setup.balloonModule.sha256 },
    },
    cells: setup.cells.map((cell) => cellRecord(setup, cell, kernelOf(cell.kernel))),
    boots: [],
  };
}

async function takeLock(
  dir: string,
  command: readonly string[],
  log: (line: string) => void,
): Promise<ResultsLock> {
  const lock = await ResultsLock.acquire(dir, command);
  if (lock.tookOverFrom !== undefined) {
    log(
      `${dir}: took over the lock of balloon-bench pid ${lock.tookOverFrom.pid}, which no longer runs`,
    );
  }
  return lock;
}

/**
 * Step zero of a run: --out can hold results at all; on results that exist, their lock, before kernels are fetched or images
 * built, so a second run on them is refused at once. Undefined for a new or foreign directory
 * (nothing is created there until it is checked).
 */
export async function lockExistingResults(
  out: string,
  command: readonly string[],
  log: (line: string) => void,
): Promise<ResultsLock | undefined> {
  // A pseudo-filesystem, read-only or full --out is refused before kernels are even looked up.
  await checkUsableDir(out, "--out", MIN_FREE_MIB);
  const entries = await readdir(out).catch(() => undefined);
  if (entries === undefined || !(entries.includes(MANIFEST_FILE) || entries.includes(LOCK_FILE)))
    return undefined;
  return takeLock(resolve(out), command, log);
}

/**
 * Step two of a run: --out is new (a fresh manifest) or holds an unfinished run of the same
 * experiment (resumed, by the one compatibility rule), and the counted iterations on disk.
 */
export async function openResults(
  setup: Setup,
  request: {
    readonly out: string;
    readonly shard?: Shard | undefined;
    readonly command: readonly string[];
    /** Taken earlier by lockExistingResults. */
    readonly lock?: ResultsLock | undefined;
  },
  host: { kernel: string; cpuModel: string; hostname: string },
  log: (line: string) => void,
): Promise<OpenedResults> {
  const { dir: results, manifest: previous } = await ResultsDir.createOrOpen(request.out);
  const lock = request.lock ?? (await takeLock(results.path, request.command, log));
  try {
    return await openLocked(setup, request, host, log, results, previous, lock);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function openLocked(
  setup: Setup,
  request: { readonly out: string; readonly shard?: Shard | undefined },
  host: { kernel: string; cpuModel: string; hostname: string },
  log: (line: string) => void,
  results: ResultsDir,
  previous: Manifest | undefined,
  lock: ResultsLock,
): Promise<OpenedResults> {
  if (previous !== undefined && previous.kind !== "run") {
    throw new UsageError(
      `${request.out} holds results this version cannot resume (imported or older)`,
      {
        hint: "choose a new --out directory",
      },
    );
  }
  if (previous !== undefined) {
    checkResumable(
      previous,
      {
        planHash: setup.planHash,
        planRecord: planRecord(setup.plan),
        seed: setup.plan.seed,
        shard: request.shard ?? null,
        fingerprint: setup.fingerprint,
      },
      request.out,
    );
  }
  for (const d of hostSettingDifferences(previous?.hostState, setup.machine.hostState))
    log(
      `warning: resuming under different host settings: ${describeHostDifference(d)} (recorded vs now)`,
    );
  const seed = previous?.plan.seed ?? setup.plan.seed ?? freshSeed();
  const schedule = buildSchedule(setup.plan, setup.cells, seed);
  const done = new Set<string>();
  for (const cell of setup.cells) {
    const repaired = await results.repairTornTail(cell.id);
    if (repaired !== undefined) log(repaired);
    for (const sample of await results.readSamples(cell.id)) {
      if (!sample.warmup) done.add(iterationKey(cell.id, sample.iteration));
    }
  }
  const manifest =
    previous ??
    newRunManifest(setup, seed, schedule, request.shard, host, new Date().toISOString());
  const store = new ManifestStore(results, manifest);
  for (const boot of store.reconcile(new Date().toISOString()))
    log(`boot ${boot} was left running by a process that ended; recorded as interrupted`);
  return {
    results,
    lock,
    store,
    schedule,
    done,
    resumed: previous !== undefined,
  };
}
