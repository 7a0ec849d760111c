import { join } from "node:path";
import { BalloonBenchError, InterruptedError, UsageError } from "../core/errors.js";
import type { Boot, BootWorkload } from "../core/plan/schedule.js";
import type { FeatureConfig, Plan } from "../core/plan/plan.js";
import {
  FLUSH_PAGES,
  GUEST_WORK_DIR,
  activeThpSetting,
  hugetlbOvercommitPages,
  setHugetlbOvercommitArgv,
  setThpArgv,
  thpSettingFor,
  type GuestFacts,
  type SettleMode,
} from "../core/protocol/guest-protocol.js";
import type { BalloonDeviceSpec } from "../core/qemu/qemu-argv.js";
import type { BootRecord } from "../core/results-format/manifest.js";
import { VmHungError } from "./watchdog.js";
import { fixableIoError } from "../util/io-errors.js";
import { setGuestStatsPolling } from "../machine/balloon/balloon-control.js";
import type { PreparedKernel } from "../machine/kernel/prepared-kernel.js";
import { readTail } from "../util/file-tail.js";
import type { BootRequest, GuestSession } from "./guest-session.js";
import { runIteration, type IterationContext } from "./iteration.js";
import { guestRecord, run, setUpGuest, verifyFeatures } from "./guest-setup.js";
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
    throw await recordBootEnd(boot, cellIds, logDir, error, ctx);
  }
}

/**
 * Records how a boot that threw ended, and returns what to throw. An interrupt, or a results
 * directory that cannot be written (full, read-only), is "interrupted", not the VM's failure;
 * when even the record cannot be written, the next resume reconciles the boot.
 */
async function recordBootEnd(
  boot: Boot,
  cellIds: readonly string[],
  logDir: string,
  error: unknown,
  ctx: BootRunnerContext,
): Promise<Error> {
  const io = fixableIoError(error);
  const interrupted = ctx.signal.aborted || io !== undefined;
  const consoleTail = interrupted ? "" : await consoleTailOf(error, logDir);
  const recorded = ctx.store.bootEnded(
    boot.id,
    cellIds,
    {
      status: interrupted ? "interrupted" : "failed",
      error: error instanceof Error ? error.message : String(error),
      consoleTail,
      shutdown: error instanceof QemuTroubleError ? error.shutdown : undefined,
    },
    new Date().toISOString(),
  );
  if (io !== undefined) {
    await recorded.catch(() => undefined);
    return io;
  }
  await recorded;
  return ctx.signal.aborted
    ? new InterruptedError("interrupted", { cause: error })
    : new BootFailure(error, consoleTail);
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
  // An interrupt stops the VM at once: the step in flight fails, and is recorded as interrupted.
  const stopOnAbort = (): void => void session.stop().catch(() => undefined);
  ctx.signal.addEventListener("abort", stopOnAbort, { once: true });
  try {
    await measure(session, boot, kernel, config, ctx);
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    throw await explainQemuTrouble(session, boot, error);
  } finally {
    ctx.signal.removeEventListener("abort", stopOnAbort);
  }
  return (await session.stop()).method;
}

/** QEMU died or stopped under the boot: said so, instead of the SSH error it caused. */
export class QemuTroubleError extends BalloonBenchError {
  constructor(
    message: string,
    /** How the boot ended, for its record (e.g. "QEMU exited (killed by SIGKILL)"). */
    readonly shutdown: string,
    cause: unknown,
  ) {
    super(message, { cause, hint: "see the boot's console log and qemu-stderr.log" });
  }
}

async function explainQemuTrouble(
  session: GuestSession,
  boot: Boot,
  error: unknown,
): Promise<unknown> {
  // The watchdog's error already says what QEMU was doing.
  if (error instanceof VmHungError) return error;
  const trouble = await session.qemuTrouble();
  if (trouble === undefined) return error;
  const what = error instanceof Error ? error.message.split("\n")[0] : String(error);
  return new QemuTroubleError(
    `QEMU ${trouble} during boot ${boot.id} (${what})`,
    `QEMU ${trouble}`,
    error,
  );
}

/** The boot's work: guest set-up, feature check, every workload's iterations. */
async function measure(
  session: GuestSession,
  boot: Boot,
  kernel: PreparedKernel & { readonly hugetlbOk: boolean },
  config: FeatureConfig,
  ctx: BootRunnerContext,
): Promise<void> {
  // What the guest is, then whether it negotiated what was asked: recorded before measuring.
  const facts = await setUpGuest(session, ctx);
  const features = await verifyFeatures(session, facts, boot.kernel, config.bits, ctx.reporter);
  await ctx.store.bootRunning(
    boot.id,
    boot.workloads.map((w) => w.cellId),
    { bootToSshMs: session.bootToSshMs, features, guest: guestRecord(facts) },
    hostRecord(session, ctx.reporter, boot.id),
  );
  if (ctx.plan.guestStats) await setGuestStatsPolling(session.qmp, 1);
  for (const workload of boot.workloads) {
    await runWorkload(session, facts, boot, workload, kernel, ctx);
  }
}

function settleFor(
  workload: { balloon: { kind: string } },
  facts: GuestFacts,
  plan: Pick<Plan, "settleMs" | "settleMode">,
): SettleMode {
  if (workload.balloon.kind !== "page-reporting") return { method: "none" };
  if (facts.hasFlush) return { method: "flush", pages: FLUSH_PAGES };
  return plan.settleMode === "rss"
    ? { method: "rss", maxMs: plan.settleMs }
    : { method: "sleep", ms: plan.settleMs };
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
    settle: settleFor(workload, facts, plan),
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

/** The boot's host side: the load it started under and its vCPU pinning, said and recorded. */
function hostRecord(
  session: GuestSession,
  reporter: RunReporter,
  bootId: string,
): Pick<BootRecord, "hostLoad" | "pinning"> {
  const { pinning, hostLoad } = session;
  if (pinning !== undefined)
    reporter.log(
      `boot ${bootId}: pinned ${pinning.vcpus.map((v) => `vCPU ${v.vcpu} -> CPU ${v.cpu}`).join(", ")}; QEMU's other ${pinning.others.threadIds.length} threads -> CPUs ${pinning.others.cpus} (verified in /proc)`,
    );
  return {
    ...(hostLoad === undefined ? {} : { hostLoad }),
    ...(pinning === undefined ? {} : { pinning }),
  };
}
