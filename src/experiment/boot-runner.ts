import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { decodeSysfsFeatureString, decodeVirtioStatus } from "../core/balloon/device-features.js";
import { BALLOON_VIRTIO_PATH } from "../core/balloon/balloon-device.js";
import { featureFindings } from "../core/balloon/feature-findings.js";
import { BalloonBenchError, InterruptedError, UsageError } from "../core/errors.js";
import type { Boot, BootWorkload } from "../core/plan/schedule.js";
import type { FeatureConfig, Plan } from "../core/plan/plan.js";
import {
  FLUSH_PAGES,
  GUEST_ALLOC_ONCE,
  GUEST_BALLOON_MODULE,
  GUEST_FACTS_SCRIPT,
  GUEST_WORK_DIR,
  activeThpSetting,
  hugetlbOvercommitPages,
  parseGuestFacts,
  setHugetlbOvercommitArgv,
  setThpArgv,
  thpSettingFor,
  type GuestFacts,
  type SettleMode,
} from "../core/protocol/guest-protocol.js";
import type { BalloonDeviceSpec } from "../core/qemu/qemu-argv.js";
import type { FeaturesRecord, GuestRecord } from "../core/results-format/manifest.js";
import { setGuestStatsPolling } from "../machine/balloon/balloon-control.js";
import { GuestCommandError } from "../machine/guest/guest-errors.js";
import type { PreparedKernel } from "../machine/kernel/prepared-kernel.js";
import { readTail } from "../util/file-tail.js";
import type { BootRequest, GuestSession } from "./guest-session.js";
import { runIteration, type IterationContext } from "./iteration.js";
import type { ManifestStore } from "./manifest-store.js";
import type { ResultsDir } from "./results-dir.js";
import type { RunReporter } from "./run-reporter.js";

/** What every boot of a run shares. */
export interface BootRunnerContext {
  readonly plan: Plan;
  readonly kernels: ReadonlyMap<string, PreparedKernel & { readonly hugetlbOk: boolean }>;
  readonly devices: ReadonlyMap<string, BalloonDeviceSpec>;
  readonly accelerator: string;
  readonly allocOnce: Buffer;
  readonly balloonModule: Buffer | undefined;
  readonly shard: { readonly index: number; readonly count: number } | undefined;
  readonly results: ResultsDir;
  readonly store: ManifestStore;
  readonly reporter: RunReporter;
  readonly bootGuest: (request: BootRequest) => Promise<GuestSession>;
  readonly signal: AbortSignal;
}

function throwIfInterrupted(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError("interrupted");
}

/** The console tail an error carries, or the one in the boot's log folder. */
async function consoleTailOf(error: unknown, logDir: string): Promise<string> {
  const carried = (error as { consoleTail?: unknown }).consoleTail;
  if (typeof carried === "string" && carried !== "") return carried;
  return readTail(join(logDir, "console.log"), 20).catch(() => "");
}

/** A failed boot's error, carrying the console tail the run reports. */
export class BootFailure extends BalloonBenchError {
  constructor(
    cause: unknown,
    readonly consoleTail: string,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/**
 * Runs one boot: a VM for a kernel × config, its feature check, and each workload's iterations,
 * every step recorded in the manifest. A failure ends the boot with a BootFailure (or the
 * InterruptedError of an interrupt), the boot recorded as failed or interrupted.
 */
export async function runBoot(boot: Boot, ctx: BootRunnerContext): Promise<void> {
  const { plan, results, store, reporter } = ctx;
  const kernel = ctx.kernels.get(boot.kernel);
  const config = plan.configs.find((c) => c.name === boot.config);
  const balloon = ctx.devices.get(boot.config);
  if (kernel === undefined || config === undefined || balloon === undefined)
    throw new Error(`boot ${boot.id} names a kernel or config the run did not prepare`);
  // Shards of one plan boot the same kernel × config: their log folders must not collide on merge.
  const logDir = await results.freshBootDir(
    ctx.shard === undefined ? boot.id : `${boot.id}__shard${ctx.shard.index}of${ctx.shard.count}`,
  );
  const cellIds = boot.workloads.map((w) => w.cellId);
  await store.bootStarted(
    {
      id: boot.id,
      round: boot.round,
      kernel: boot.kernel,
      config: boot.config,
      logDir: logDir.slice(results.path.length + 1),
      startedAt: new Date().toISOString(),
    },
    cellIds,
  );
  reporter.cell(cellIds[0] ?? boot.id);
  reporter.log(
    `boot ${boot.id}: ${kernel.name} (${kernel.release}) under ${ctx.accelerator}, ${plan.memoryMiB} MiB, ${plan.vcpus} vCPUs, bits ${config.bits.join(",") || "none"}`,
  );
  try {
    const shutdown = await bootAndMeasure(boot, kernel, config, balloon, logDir, ctx);
    await store.bootEnded(
      boot.id,
      cellIds,
      { status: "complete", shutdown },
      new Date().toISOString(),
    );
  } catch (error) {
    const interrupted = ctx.signal.aborted;
    const consoleTail = interrupted ? "" : await consoleTailOf(error, logDir);
    await store.bootEnded(
      boot.id,
      cellIds,
      {
        status: interrupted ? "interrupted" : "failed",
        error: error instanceof Error ? error.message : String(error),
        consoleTail,
      },
      new Date().toISOString(),
    );
    throw interrupted
      ? new InterruptedError("interrupted", { cause: error })
      : new BootFailure(error, consoleTail);
  }
}

/** Boots the VM, checks it, runs every workload of the boot; returns how QEMU stopped. */
async function bootAndMeasure(
  boot: Boot,
  kernel: PreparedKernel & { readonly hugetlbOk: boolean },
  config: FeatureConfig,
  balloon: BalloonDeviceSpec,
  logDir: string,
  ctx: BootRunnerContext,
): Promise<string> {
  await using session = await ctx.bootGuest({
    kernel,
    balloon,
    logDir,
    deferBalloonModule: ctx.balloonModule !== undefined,
  });
  throwIfInterrupted(ctx.signal);
  // What the guest is, then whether it negotiated what was asked: recorded before measuring.
  const facts = await setUpGuest(session, ctx);
  const features = await verifyFeatures(session, facts, boot.kernel, config.bits, ctx.reporter);
  await ctx.store.bootRunning(
    boot.id,
    boot.workloads.map((w) => w.cellId),
    { bootToSshMs: session.bootToSshMs, features, guest: guestRecord(facts) },
  );
  if (ctx.plan.guestStats) await setGuestStatsPolling(session.qmp, 1);
  for (const workload of boot.workloads) {
    await runWorkload(session, facts, boot, workload, kernel, ctx);
  }
  return (await session.stop()).method;
}

/** Uploads alloc_once (and a user's virtio_balloon.ko, as bench.sh does) and reads the guest's facts. */
async function setUpGuest(session: GuestSession, ctx: BootRunnerContext): Promise<GuestFacts> {
  // The facts script also creates the work directory the uploads go to.
  const facts = parseGuestFacts((await session.shell(GUEST_FACTS_SCRIPT)).stdout);
  await session.upload(GUEST_ALLOC_ONCE, ctx.allocOnce, 0o755);
  if (ctx.balloonModule === undefined) return facts;
  if (facts.balloonDriver !== undefined && facts.balloonDriver !== "virtio_balloon") {
    throw new UsageError(`the guest's balloon is bound to '${facts.balloonDriver}'`, {
      hint: "drop the balloon module",
    });
  }
  await session.upload(GUEST_BALLOON_MODULE, ctx.balloonModule, 0o644);
  const removed = await session.exec(["rmmod", "virtio_balloon"]);
  if (removed.exitCode !== 0 && /builtin|built-in/i.test(removed.stderr)) {
    throw new UsageError(
      `kernel ${facts.unameR} has virtio_balloon built in, so a balloon module cannot replace it`,
      { hint: "build the kernel with CONFIG_VIRTIO_BALLOON=m, or drop the balloon module" },
    );
  }
  await run(session, ["insmod", GUEST_BALLOON_MODULE]);
  // The driver negotiates features when it binds; give sysfs a moment to show the device.
  await sleep(200);
  return parseGuestFacts((await session.shell(GUEST_FACTS_SCRIPT)).stdout);
}

/** Runs argv in the guest; a non-zero exit is a GuestCommandError. */
async function run(session: GuestSession, argv: readonly string[]): Promise<void> {
  const result = await session.exec(argv);
  if (result.exitCode !== 0)
    throw new GuestCommandError(argv, result.exitCode, result.signal, result.stderr);
}

/**
 * Requested bits, bits the device offers (QMP) and bits the driver negotiated (QMP and sysfs).
 * A requested bit that was not negotiated is a finding, in words, not a failure.
 */
async function verifyFeatures(
  session: GuestSession,
  facts: GuestFacts,
  kernel: string,
  requested: readonly number[],
  reporter: RunReporter,
): Promise<FeaturesRecord> {
  const status = await session.qmp.execute("x-query-virtio-status", { path: BALLOON_VIRTIO_PATH });
  const decoded = decodeVirtioStatus(status);
  const negotiatedSysfs = decodeSysfsFeatureString(facts.balloonFeatures ?? "");
  const findings = featureFindings(requested, decoded.offered.balloonBits, negotiatedSysfs, kernel);
  for (const finding of findings) reporter.log(`warning: ${finding}`);
  reporter.log(
    `guest: ${facts.unameR}; balloon bits offered ${decoded.offered.balloonBits.join(",") || "none"}, negotiated ${negotiatedSysfs.join(",") || "none"} (requested ${requested.join(",") || "none"})`,
  );
  return {
    requested: [...requested],
    offered: [...decoded.offered.balloonBits],
    negotiatedQmp: [...decoded.negotiated.balloonBits],
    negotiatedSysfs,
    sysfsString: facts.balloonFeatures ?? null,
    verified: findings.length === 0,
    findings,
  };
}

function settleFor(
  workload: { balloon: { kind: string } },
  facts: GuestFacts,
  settleMs: number,
): SettleMode {
  if (workload.balloon.kind !== "page-reporting") return { method: "none" };
  return facts.hasFlush
    ? { method: "flush", pages: FLUSH_PAGES }
    : { method: "sleep", ms: settleMs };
}

/** One workload's share of the boot: page mode set, warm-ups and counted iterations, restored after. */
async function runWorkload(
  session: GuestSession,
  facts: GuestFacts,
  boot: Boot,
  w: BootWorkload,
  kernel: PreparedKernel & { readonly hugetlbOk: boolean },
  ctx: BootRunnerContext,
): Promise<void> {
  const { plan, results, reporter } = ctx;
  const workload = plan.workloads.find((x) => x.name === w.workload);
  if (workload === undefined) throw new Error(`no workload ${w.workload} in the plan`);
  const huge = workload.pages === "hugetlb";
  if (huge && (!kernel.hugetlbOk || !facts.hasHugetlb)) {
    throw new UsageError(
      `workload ${workload.name} needs hugetlb, but kernel ${kernel.name} has no hugetlb support`,
      { hint: "use pages other than hugetlb, or a kernel with CONFIG_HUGETLBFS=y" },
    );
  }
  reporter.cell(w.cellId);
  const originalThp = activeThpSetting(facts.thp);
  const thp = thpSettingFor(workload.pages) ?? originalThp;
  if (thp !== undefined && thp !== originalThp) await run(session, setThpArgv(thp));
  if (huge) await run(session, setHugetlbOvercommitArgv(hugetlbOvercommitPages(workload.sizeMiB)));
  const iteration: IterationContext = {
    session,
    plan,
    boot,
    cellId: w.cellId,
    workload,
    settle: settleFor(workload, facts, plan.settleMs),
    guestCsv: `${GUEST_WORK_DIR}/${w.cellId}.csv`,
    rawCsv: await results.freshRawCsvName(w.cellId, boot.round),
  };
  await run(session, ["rm", "-f", iteration.guestCsv]);
  const steps = [
    ...Array.from({ length: w.warmups }, (_, i) => ({ warmup: true, iteration: i + 1 })),
    ...w.iterations.map((i) => ({ warmup: false, iteration: i })),
  ];
  for (const [perfRun, step] of steps.entries()) {
    throwIfInterrupted(ctx.signal);
    const { sample, csv } = await runIteration(iteration, { ...step, perfRun }, new Date());
    await results.writeRawCsv(w.cellId, csv, iteration.rawCsv);
    await results.appendSample(sample);
    reporter.iteration({
      cell: w.cellId,
      round: boot.round,
      warmup: step.warmup,
      iteration: step.iteration,
      of: step.warmup ? w.warmups : plan.iterations,
      taskClockMs: sample.counters["task-clock"]?.value ?? undefined,
      wallMs: sample.wallMs,
    });
  }
  if (huge) await run(session, setHugetlbOvercommitArgv(0));
  if (thp !== originalThp && originalThp !== undefined) await run(session, setThpArgv(originalThp));
}

function guestRecord(facts: GuestFacts): GuestRecord {
  return {
    unameR: facts.unameR,
    thp: facts.thp,
    memTotalKiB: facts.memTotalKiB,
    perf: facts.perfVersion,
    ...(facts.balloonDriver === undefined ? {} : { balloonDriver: facts.balloonDriver }),
    hasFlush: facts.hasFlush,
  };
}
