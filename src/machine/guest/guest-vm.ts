import { join } from "node:path";
import { execa } from "execa";
import { VmLaunchError } from "../../core/errors.js";
import type { GuestImage } from "../image/guest-image.js";
import type { PreparedKernel } from "../kernel/prepared-kernel.js";
import type { AcceleratorChoice } from "../../core/qemu/accelerator.js";
import type { PinningRecord } from "../../core/host/vcpu-pinning.js";
import type { BalloonDeviceSpec, DriveSpec, GuestMemorySpec } from "../../core/qemu/qemu-argv.js";
import { pinQemuThreads } from "../host/pin-vcpus.js";
import { describeExit, launchVm, type RunningVm, type StopResult } from "../qemu/qemu-vm.js";
import { describeSilentGuest } from "../qemu/process-state.js";
import { AsyncStack } from "../../util/disposable.js";
import { readTail } from "../../util/file-tail.js";
import { findFreeLocalPort } from "../../util/free-port.js";
import { makePrivateTempDir, removeDir } from "../../util/private-dir.js";
import { GuestSsh } from "./guest-ssh.js";
import { HostKeyMismatchError } from "./guest-errors.js";
import { SSHD_READY_MARKER, waitForConsoleMarker } from "./console-watch.js";
import { setTimeout as sleep } from "node:timers/promises";
import { access, readFile } from "node:fs/promises";

export interface GuestBootOptions {
  readonly qemuPath: string;
  readonly accelerator: AcceleratorChoice;
  readonly kernel: PreparedKernel;
  readonly image: GuestImage;
  readonly memoryMiB: number;
  readonly vcpus: number;
  readonly balloon: BalloonDeviceSpec;
  /** Where console.log and qemu-stderr.log are kept. */
  readonly logDir: string;
  readonly bootTimeoutMs: number;
  /** Skip the boot-time modprobe of virtio_balloon (a user-supplied module is insmod'ed instead). */
  readonly deferBalloonModule?: boolean;
  /** Guest RAM's merge and backing (QEMU's defaults when undefined). */
  readonly memory?: GuestMemorySpec | undefined;
  /** Pin vCPU i to pin[i] once QMP is up, QEMU's other threads to the rest (pin-vcpus.ts). */
  readonly pin?: readonly number[] | undefined;
  readonly dieWithParent?: boolean;
  /**
   * A private directory the caller owns (a live VM's state directory): the qcow2 overlay, QMP
   * socket and pidfile go there and are kept when this process lets go of the VM.
   * Default: temporary directories, removed when the VM stops.
   */
  readonly stateDir?: string;
  /** Extra QEMU arguments (e.g. `-name`, a second QMP monitor). */
  readonly extraArgs?: readonly string[];
  /** Called once QEMU runs and QMP answers, before waiting for SSH (e.g. to record its pid). */
  readonly onLaunched?: (vm: RunningVm, sshPort: number) => Promise<void>;
}

/**
 * Kernel arguments for our guests. panic=-1 with QEMU's -no-reboot turns a panic into a prompt
 * QEMU exit instead of a hang; the rest trims TCG boot time (measured: ~5 s to SSH).
 */
export function guestKernelArgs(
  kernel: PreparedKernel,
  options: { modprobeBalloon: boolean; accelerator: "kvm" | "tcg" },
): string[] {
  return [
    "console=ttyS0",
    "root=/dev/vda",
    "rootfstype=ext4",
    "rw",
    "panic=-1",
    "quiet",
    // Under TCG the TSC looks unstable and the guest falls back to the HPET, slow to emulate
    // (+0.9 s boot, measured); under KVM the kernel's own judgement of the TSC stands.
    ...(options.accelerator === "tcg" ? ["tsc=reliable"] : []),
    "no_timer_check",
    "cryptomgr.notests",
    "8250.nr_uarts=1",
    "audit=0",
    ...(kernel.modulesImagePath === undefined ? ["bb.modules=none"] : []),
    ...(options.modprobeBalloon ? ["bb.modprobe=virtio_balloon"] : []),
    ...kernel.cmdline,
  ];
}

/** A booted guest reachable over SSH; owns its QEMU, its overlay and its SSH connection. */
export class GuestVm implements AsyncDisposable {
  constructor(
    readonly vm: RunningVm,
    readonly ssh: GuestSsh,
    readonly sshPort: number,
    /** From QEMU spawn to a logged-in SSH session. */
    readonly bootToSshMs: number,
    private readonly stack: AsyncDisposableStack,
    /** Where each vCPU thread was pinned, verified from /proc; undefined when not pinned. */
    readonly pinning?: PinningRecord | undefined,
  ) {}

  async stop(): Promise<StopResult> {
    const result = await this.vm.stop();
    await this.stack.disposeAsync();
    return result;
  }

  /** Leaves QEMU running on its own (see RunningVm.detach) and closes our SSH connection. */
  detach(): void {
    this.ssh.close();
    this.vm.detach();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** The base image is never written: every VM gets its own qcow2 overlay in `dir`. */
async function createOverlay(image: GuestImage, dir: string): Promise<string> {
  const overlay = join(dir, "root.qcow2");
  await execa("qemu-img", [
    "create",
    "-q",
    "-f",
    "qcow2",
    "-b",
    image.basePath,
    "-F",
    "raw",
    overlay,
  ]);
  return overlay;
}

/** The root overlay, and the kernel's modules tree as a read-only second disk. */
function drivesFor(overlay: string, kernel: PreparedKernel): DriveSpec[] {
  const drives: DriveSpec[] = [{ id: "root", path: overlay, format: "qcow2" }];
  if (kernel.modulesImagePath !== undefined) {
    drives.push({ id: "modules", path: kernel.modulesImagePath, format: "raw", readOnly: true });
  }
  return drives;
}

async function launchFor(
  options: GuestBootOptions,
  overlay: string,
  sshPort: number,
): Promise<RunningVm> {
  return launchVm({
    qemuPath: options.qemuPath,
    logDir: options.logDir,
    dieWithParent: options.dieWithParent,
    runDir: options.stateDir,
    config: {
      machine: "q35",
      memory: options.memory,
      accelerator: options.accelerator.accelerator,
      cpu: options.accelerator.cpu,
      memoryMiB: options.memoryMiB,
      vcpus: options.vcpus,
      kernel: {
        kernelPath: options.kernel.bootKernelPath,
        initrdPath: options.kernel.initrdPath,
        append: guestKernelArgs(options.kernel, {
          modprobeBalloon: options.kernel.balloonIsModule && options.deferBalloonModule !== true,
          accelerator: options.accelerator.accelerator,
        }),
      },
      firmwarePath: options.kernel.bootMethod === "pvh" ? await qbootPath() : undefined,
      drives: drivesFor(overlay, options.kernel),
      network: { sshHostPort: sshPort },
      balloon: options.balloon,
      extraArgs: options.extraArgs,
    },
  });
}

/** Why the guest never answered SSH, with what a user needs to act: QEMU's exit, the console. */
async function bootFailure(
  vm: RunningVm,
  options: GuestBootOptions,
  error: unknown,
): Promise<VmLaunchError> {
  await sleep(100);
  const exit = vm.hasExited ? await vm.exited : undefined;
  const consoleTail = await readTail(vm.consolePath ?? "", 40);
  const panicked = /Kernel panic/.test(consoleTail);
  // An empty console says nothing by itself: whether QEMU ran at all tells a hang from a starved VM.
  const silent =
    exit === undefined && consoleTail.trim() === ""
      ? `; ${await describeSilentGuest(vm.pid, options.bootTimeoutMs)}`
      : "";
  const message =
    exit !== undefined
      ? `guest ${options.kernel.name} stopped before SSH came up (QEMU ${describeExit(exit)}${panicked ? ", kernel panic" : ""})`
      : `guest ${options.kernel.name} did not answer SSH within ${Math.round(options.bootTimeoutMs / 1000)} s: ${(error as Error).message}${silent}`;
  return new VmLaunchError(message, {
    command: vm.command,
    exitCode: exit?.exitCode,
    signal: exit?.signal,
    consoleTail,
    stderrTail: await readTail(vm.stderrPath),
    hint: `see the console log ${vm.consolePath ?? ""}; check the kernel has virtio-pci, virtio-blk, virtio-net and ext4 (built in, or modules=DIR)`,
    cause: error,
  });
}

/** Waits for the console's ready marker, then logs in over SSH with the host key pinned. */
async function waitForSsh(
  vm: RunningVm,
  options: GuestBootOptions,
  sshPort: number,
  started: number,
): Promise<GuestSsh> {
  const marker = await waitForConsoleMarker(vm.consolePath ?? "", SSHD_READY_MARKER, {
    timeoutMs: options.bootTimeoutMs,
    shouldGiveUp: () => vm.hasExited,
  });
  if (marker !== "seen") {
    throw new Error(
      marker === "gave-up" ? "QEMU exited" : `no '${SSHD_READY_MARKER}' on the console`,
    );
  }
  return GuestSsh.connect({
    port: sshPort,
    privateKey: await readFile(options.image.clientKeyPath),
    hostKey: options.image.hostKey,
    timeoutMs: Math.max(5_000, started + options.bootTimeoutMs - Date.now()),
    shouldGiveUp: () => (vm.hasExited ? new Error("QEMU exited") : undefined),
  });
}

/** Boots a guest from a copy-on-write overlay of the image and waits until SSH answers. */
export async function bootGuest(options: GuestBootOptions): Promise<GuestVm> {
  await using stack = new AsyncStack();
  const overlayDir = options.stateDir ?? (await makePrivateTempDir("bb-overlay-"));
  if (options.stateDir === undefined) stack.defer(() => removeDir(overlayDir));
  const overlay = await createOverlay(options.image, overlayDir);
  const sshPort = await findFreeLocalPort();
  const started = Date.now();
  const vm = await launchFor(options, overlay, sshPort);
  stack.defer(async () => {
    await vm.stop();
  });
  const pinning = options.pin === undefined ? undefined : await pinQemuThreads(vm, options.pin);
  await options.onLaunched?.(vm, sshPort);
  let ssh: GuestSsh;
  try {
    ssh = await waitForSsh(vm, options, sshPort, started);
  } catch (error) {
    if (error instanceof HostKeyMismatchError) throw error;
    throw await bootFailure(vm, options, error);
  }
  const bootToSshMs = Date.now() - started;
  stack.defer(() => ssh.close());
  return new GuestVm(vm, ssh, sshPort, bootToSshMs, stack.move(), pinning);
}

const QBOOT = "/usr/share/qemu/qboot.rom";

/** qboot (Debian's qemu-system-data) enters a PVH kernel ~0.4 s sooner than SeaBIOS under TCG. */
async function qbootPath(): Promise<string | undefined> {
  return access(QBOOT).then(
    () => QBOOT,
    () => undefined,
  );
}
