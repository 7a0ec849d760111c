import type { HostLoad } from "../core/host/host-state.js";
import type { HostSample } from "../core/host/interference.js";
import type { PinningRecord } from "../core/host/vcpu-pinning.js";
import type { BalloonDeviceSpec } from "../core/qemu/qemu-argv.js";
import type { BalloonQmp } from "../machine/balloon/balloon-control.js";
import type { ExecResult } from "../machine/guest/guest-ssh.js";
import type { PreparedKernel } from "../machine/kernel/prepared-kernel.js";

/**
 * What a boot needs of a running guest: a shell over SSH, QMP for the balloon, the QEMU
 * process's RSS, and a way to stop it. The real one wraps a booted GuestVm; tests drive the
 * experiment engine with a fake one, without QEMU.
 */
export interface GuestSession extends AsyncDisposable {
  /** From QEMU spawn to a logged-in SSH session. */
  readonly bootToSshMs: number;
  /** Runs argv in the guest (quoted for its sh); resolves with the exit, never throws for it. */
  exec(argv: readonly string[], options?: { readonly timeoutMs?: number }): Promise<ExecResult>;
  /** Runs one of our fixed scripts through the guest's sh. */
  shell(script: string): Promise<ExecResult>;
  /** Writes a file in the guest, checked by its sha256 there. */
  upload(path: string, data: Buffer, mode: number): Promise<void>;
  readonly qmp: BalloonQmp;
  /** The QEMU process's resident set size on the host. */
  hostRssBytes(): Promise<number>;
  /**
   * What QEMU is doing, from the host: undefined while it runs normally, else in words ("exited:
   * killed by SIGKILL", "stopped (SIGSTOP or a debugger)"), for errors that must say QEMU died.
   */
  qemuTrouble(): Promise<string | undefined>;
  /** The host's load when the boot started, before QEMU did. */
  readonly hostLoad?: HostLoad | undefined;
  /** Where the vCPU threads were pinned (verified), when the plan pins them. */
  readonly pinning?: PinningRecord | undefined;
  /**
   * QEMU's thread times and the host's CPU contention now: read around each perf command; with
   * `numa` (after it), also where QEMU's memory is by host NUMA node.
   */
  hostSample?(options?: { readonly numa?: boolean }): Promise<HostSample>;
  /** Stops QEMU in steps; says how it stopped. */
  stop(): Promise<{ readonly method: string }>;
}

export interface BootRequest {
  readonly kernel: PreparedKernel;
  readonly balloon: BalloonDeviceSpec;
  /** Where console.log and qemu-stderr.log go. */
  readonly logDir: string;
  /** A user's virtio_balloon.ko replaces the kernel's: skip the boot-time modprobe. */
  readonly deferBalloonModule: boolean;
}
