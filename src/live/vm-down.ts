import { setTimeout as sleep } from "node:timers/promises";
import { QmpClient } from "../machine/qmp/qmp-client.js";
import {
  signalProcess,
  stopInSteps,
  type StopMethod,
  type StopOptions,
  type StopTarget,
} from "../machine/qemu/stop-in-steps.js";
import { removeDir } from "../util/private-dir.js";
import { isVmAlive } from "./live-vm.js";
import { vmStateDir } from "./live-paths.js";
import { isSameProcess, type ProcessIdentity } from "../util/process-identity.js";
import { readVmStateFile } from "./vm-state.js";
import { access } from "node:fs/promises";
import { join } from "node:path";

export type DownOutcome =
  | { readonly outcome: "stopped"; readonly method: StopMethod; readonly pid: number }
  | { readonly outcome: "stale" }
  | { readonly outcome: "absent" };

/**
 * A QEMU another process started, known by pid + start time and its QMP socket. It is not our
 * child, so its exit status is unknown and its exit is seen by polling /proc; a signal is only
 * sent while the pid still belongs to it.
 */
class ForeignQemu implements StopTarget {
  private gone = false;

  constructor(
    private readonly identity: ProcessIdentity,
    private readonly qmp: QmpClient | undefined,
  ) {}

  get pid(): number {
    return this.identity.pid;
  }

  hasExited(): boolean {
    return this.gone;
  }

  exitInfo(): { exitCode: undefined; signal: undefined } {
    return { exitCode: undefined, signal: undefined };
  }

  sendQuit(timeoutMs: number): boolean {
    if (this.qmp === undefined || !this.qmp.isOpen) return false;
    this.qmp.execute("quit", undefined, { timeoutMs }).catch(() => undefined);
    return true;
  }

  async signal(signal: NodeJS.Signals): Promise<void> {
    if (await isSameProcess(this.identity)) signalProcess(this.identity.pid, signal);
  }

  async waitForExit(
    timeoutMs: number,
  ): Promise<{ exitCode: undefined; signal: undefined } | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!(await isSameProcess(this.identity))) {
        this.gone = true;
        return this.exitInfo();
      }
      if (Date.now() >= deadline) return undefined;
      await sleep(Math.min(100, Math.max(1, deadline - Date.now())));
    }
  }
}

/** Stops a QEMU recorded by identity and QMP socket: quit, then SIGTERM, then SIGKILL. */
export async function stopForeignQemu(
  identity: ProcessIdentity,
  qmpSocket: string,
  options: StopOptions & { readonly qmpConnectTimeoutMs?: number } = {},
): Promise<StopMethod> {
  // A QEMU whose monitor does not answer still gets stopped, by signals.
  const qmp = await QmpClient.connect(qmpSocket, {
    timeoutMs: options.qmpConnectTimeoutMs ?? 3_000,
  }).catch(() => undefined);
  try {
    return (await stopInSteps(new ForeignQemu(identity, qmp), options)).method;
  } finally {
    qmp?.close();
  }
}

/** `balloon-bench down NAME`: stops the VM in steps and removes its state; twice is harmless. */
export async function downVm(name: string, options: StopOptions = {}): Promise<DownOutcome> {
  const dir = vmStateDir(name);
  const read = await readVmStateFile(dir);
  if (
    read.kind === "damaged" &&
    read.process !== undefined &&
    (await isSameProcess(read.process))
  ) {
    // The state does not validate, but the process it names runs: stop it by what was recorded.
    const method = await stopForeignQemu(read.process, join(dir, "qmp.sock"), options);
    await removeDir(dir);
    return { outcome: "stopped", method, pid: read.process.pid };
  }
  const state = read.kind === "ok" ? read.state : undefined;
  if (state === undefined) {
    const present = await access(dir).then(
      () => true,
      () => false,
    );
    if (!present) return { outcome: "absent" };
    await removeDir(dir);
    return { outcome: "stale" };
  }
  if (!(await isVmAlive(state))) {
    await removeDir(dir);
    return { outcome: "stale" };
  }
  if (state.qemu === undefined) {
    // `up` is still preparing (no QEMU yet): end it; its exit handlers stop what it started.
    const method = await stopInSteps(new ForeignQemu(state.owner, undefined), options);
    await removeDir(dir);
    return { outcome: "stopped", method: method.method, pid: state.owner.pid };
  }
  const method = await stopForeignQemu(state.qemu, state.qmpSocket, options);
  await removeDir(dir);
  return { outcome: "stopped", method, pid: state.qemu.pid };
}
