import { balloonDeviceForFeatures } from "../core/balloon/balloon-device.js";
import { UsageError } from "../core/errors.js";
import { planCells, planHash, type Cell, type Plan } from "../core/plan/plan.js";
import { guestMemoryOf, hugetlbCaveats } from "../core/plan/vm-options.js";
import { shardCells, type Shard } from "../core/plan/shard.js";
import type { BalloonDeviceSpec } from "../core/qemu/qemu-argv.js";
import type { Fingerprint } from "../core/results-format/manifest.js";
import type { PreparedMachine, QemuFacts } from "../machine/prepare-machine.js";
import { TOOL_VERSION } from "../version.js";
import type { HashedFile, MachinePort } from "./machine-port.js";
import type { RunReporter } from "./run-reporter.js";

export interface SkippedConfig {
  readonly config: string;
  readonly reason: string;
}

/** Everything resolved and checked before the results directory is touched or a VM boots. */
export interface Setup {
  readonly plan: Plan;
  readonly planHash: string;
  /** The cells this invocation runs (after skipped configs and the shard). */
  readonly cells: readonly Cell[];
  readonly devices: ReadonlyMap<string, BalloonDeviceSpec>;
  readonly skipped: readonly SkippedConfig[];
  readonly machine: PreparedMachine;
  readonly workload: HashedFile & { readonly sourceSha256: string };
  readonly balloonModule: (HashedFile & { readonly path: string }) | undefined;
  readonly fingerprint: Fingerprint;
}

export interface PreflightRequest {
  readonly plan: Plan;
  readonly qemu?: string | undefined;
  /** Run the cells whose configs this QEMU can offer, and list the others, instead of failing. */
  readonly skipUnsupported: boolean;
  readonly shard?: Shard | undefined;
}

/** The balloon device of every config; a bit this QEMU cannot offer fails here (or is skipped). */
function devicesFor(
  request: PreflightRequest,
  qemu: QemuFacts,
  reporter: RunReporter,
): { devices: Map<string, BalloonDeviceSpec>; skipped: SkippedConfig[] } {
  const devices = new Map<string, BalloonDeviceSpec>();
  const skipped: SkippedConfig[] = [];
  for (const config of request.plan.configs) {
    try {
      devices.set(
        config.name,
        balloonDeviceForFeatures({
          bits: config.bits,
          propertyMap: config.propertyMap,
          availableProperties: qemu.deviceProperties,
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
  return { devices, skipped };
}

/**
 * Step one of a run: the inputs (kernel images, balloon module), what this QEMU can offer, the
 * cells to run, then the machine (accelerator, kernels, image) and the fingerprint that a resume
 * or a merge must match. Nothing here writes results or boots a VM.
 */
export async function preflight(
  request: PreflightRequest,
  port: MachinePort,
  reporter: RunReporter,
): Promise<Setup> {
  const { plan } = request;
  await port.checkKernelImages(plan.kernels);
  const balloonModule =
    plan.balloonModule === undefined
      ? undefined
      : {
          path: plan.balloonModule,
          ...(await port.userFile(
            plan.balloonModule,
            "balloon module",
            "pass the path of a built virtio_balloon.ko",
          )),
        };
  const qemu = await port.inspectQemu(request.qemu);
  const { devices, skipped } = devicesFor(request, qemu, reporter);
  const allCells = planCells(plan).filter((cell) => devices.has(cell.config));
  const cells = request.shard === undefined ? allCells : shardCells(allCells, request.shard);
  if (cells.length === 0) {
    throw new UsageError("nothing to run: every config was skipped as unsupported by this QEMU", {
      hint: "run `balloon-bench probe` and pick configs this QEMU can offer",
    });
  }
  const machine = await port.prepareMachine({
    qemu,
    accel: plan.accel,
    kernels: plan.kernels.filter((k) => cells.some((c) => c.kernel === k.name)),
    log: (line) => reporter.log(line),
    guest: { memoryMiB: plan.memoryMiB, memory: guestMemoryOf(plan), pin: plan.pin },
  });
  for (const caveat of hugetlbCaveats(plan)) reporter.log(`warning: ${caveat}`);
  const workload = await port.workload();
  const host = port.host();
  const fingerprint: Fingerprint = {
    tool: TOOL_VERSION,
    qemuVersion: qemu.info.version,
    accelerator: machine.accelerator.accelerator,
    hostKernel: host.kernel,
    cpuModel: host.cpuModel,
    imageHash: machine.image.hash,
    allocOnceSha256: workload.sha256,
    kernels: Object.fromEntries([...machine.kernels].map(([name, k]) => [name, k.sha256])),
    balloonModuleSha256: balloonModule?.sha256 ?? null,
  };
  return {
    plan,
    planHash: planHash(plan),
    cells,
    devices,
    skipped,
    machine,
    workload,
    balloonModule,
    fingerprint,
  };
}
