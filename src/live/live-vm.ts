import { access, readFile } from "node:fs/promises";
import { GuestSsh } from "../machine/guest/guest-ssh.js";
import { parseOpenSshPublicKey } from "../core/protocol/host-key.js";
import { QmpClient } from "../machine/qmp/qmp-client.js";
import { removeDir } from "../util/private-dir.js";
import {
  NoSuchVmError,
  VmNotReadyError,
  VmNotRunningError,
  VmStateDamagedError,
} from "./live-errors.js";
import { vmStateDir } from "./live-paths.js";
import { isSameProcess } from "../util/process-identity.js";
import { readVmStateFile, type LiveVmState } from "./vm-state.js";

/** A live VM found by name: its state directory and recorded state. */
export interface LiveVm {
  readonly name: string;
  readonly dir: string;
  readonly state: LiveVmState;
}

/** Whether the VM's process still runs: QEMU once recorded, else the `up` process creating it. */
export async function isVmAlive(state: LiveVmState): Promise<boolean> {
  return isSameProcess(state.qemu ?? state.owner);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Finds a live VM by name. A VM whose QEMU has exited (or whose pid now belongs to another
 * process) has its state removed and is reported as VmNotRunningError.
 */
export async function openLiveVm(
  name: string,
  options: { readonly allowBooting?: boolean } = {},
): Promise<LiveVm> {
  const dir = vmStateDir(name);
  const read = await readVmStateFile(dir);
  if (
    read.kind === "damaged" &&
    read.process !== undefined &&
    (await isSameProcess(read.process))
  ) {
    throw new VmStateDamagedError(name, read.problem, read.process.pid);
  }
  if (read.kind !== "ok") {
    if (!(await exists(dir))) throw new NoSuchVmError(name);
    await removeDir(dir);
    throw new VmNotRunningError(name);
  }
  const { state } = read;
  if (!(await isVmAlive(state))) {
    await removeDir(dir);
    throw new VmNotRunningError(name);
  }
  if (state.phase !== "running" && options.allowBooting !== true) throw new VmNotReadyError(name);
  return { name, dir, state };
}

/**
 * Turns a failure while talking to the VM into VmNotRunningError when its QEMU has gone in the
 * meantime (state removed); other failures pass through unchanged.
 */
export async function explainFailure(vm: LiveVm, error: unknown): Promise<never> {
  if (!(await isVmAlive(vm.state))) {
    await removeDir(vm.dir);
    throw new VmNotRunningError(vm.name);
  }
  throw error;
}

/** Runs `body`, blaming a failure on a vanished QEMU when that is what happened. */
export async function withLiveVm<T>(vm: LiveVm, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    return explainFailure(vm, error);
  }
}

/** Connects to the VM's QMP monitor (or its second monitor, kept free for `qmp --events`). */
export async function connectLiveQmp(
  vm: LiveVm,
  options: { readonly events?: boolean; readonly timeoutMs?: number } = {},
): Promise<QmpClient> {
  const socket = options.events === true ? vm.state.eventsQmpSocket : vm.state.qmpSocket;
  return withLiveVm(vm, () => QmpClient.connect(socket, { timeoutMs: options.timeoutMs ?? 5_000 }));
}

/** Logs in to the guest as root with the image's client key, the recorded host key pinned. */
export async function connectLiveSsh(vm: LiveVm): Promise<GuestSsh> {
  const port = vm.state.sshPort;
  if (port === undefined) throw new VmNotReadyError(vm.name);
  return withLiveVm(vm, async () =>
    GuestSsh.connectOnce({
      port,
      privateKey: await readFile(vm.state.clientKeyPath),
      hostKey: parseOpenSshPublicKey(vm.state.hostKey),
      attemptTimeoutMs: 10_000,
    }),
  );
}

/** Runs `body` with a QMP connection to the VM, closed afterwards; failures explained as above. */
export async function withLiveQmp<T>(
  vm: LiveVm,
  body: (qmp: QmpClient) => Promise<T>,
  options: { readonly events?: boolean } = {},
): Promise<T> {
  await using qmp = await connectLiveQmp(vm, options);
  return await withLiveVm(vm, () => body(qmp));
}

/** Runs `body` with an SSH session to the guest, closed afterwards; failures explained as above. */
export async function withLiveSsh<T>(vm: LiveVm, body: (ssh: GuestSsh) => Promise<T>): Promise<T> {
  await using ssh = await connectLiveSsh(vm);
  return await withLiveVm(vm, () => body(ssh));
}
