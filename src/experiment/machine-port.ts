import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { KernelSpec } from "../core/plan/kernel-spec.js";
import { readRssBytes } from "../machine/balloon/balloon-control.js";
import type { GuestMemorySpec } from "../core/qemu/qemu-argv.js";
import { bootGuest } from "../machine/guest/guest-vm.js";
import { describeProcessTrouble } from "../machine/qemu/process-state.js";
import { describeExit } from "../machine/qemu/qemu-vm.js";
import { queryVcpuThreads } from "../machine/host/pin-vcpus.js";
import { sampleQemuHost } from "../machine/host/qemu-interference.js";
import { readHostLoad } from "../machine/host/read-host-state.js";
import {
  checkKernelImages,
  guestBootOptions,
  hostFacts,
  inspectQemu,
  prepareMachine,
  type MachineRequest,
  type PreparedMachine,
  type QemuFacts,
} from "../machine/prepare-machine.js";
import { buildAllocOnce } from "../machine/workload/alloc-once.js";
import { cacheDir } from "../util/paths.js";
import { readUserFile, type HashedFile } from "../util/user-file.js";
import type { BootRequest, GuestSession } from "./guest-session.js";

export type { HashedFile } from "../util/user-file.js";

/**
 * What the experiment engine needs of the machine layer. The real one is below; the engine's
 * unit tests pass a fake one, so resume, failure policy and interrupts are tested without QEMU.
 */
export interface MachinePort {
  inspectQemu(requested: string | undefined): Promise<QemuFacts>;
  checkKernelImages(specs: readonly KernelSpec[]): Promise<void>;
  prepareMachine(request: MachineRequest): Promise<PreparedMachine>;
  /** alloc_once, compiled static; its source's sha256 too. */
  workload(): Promise<HashedFile & { readonly sourceSha256: string }>;
  /** A user-supplied file (the balloon module): refused in one line when it is not a file. */
  userFile(path: string, what: string, hint: string): Promise<HashedFile>;
  boot(
    machine: PreparedMachine,
    shape: BootShapeOfPlan,
    request: BootRequest,
  ): Promise<GuestSession>;
  host(): { kernel: string; cpuModel: string; hostname: string };
}

/** What every boot of a run shares: size, timeout, guest memory and pinning. */
export interface BootShapeOfPlan {
  readonly memoryMiB: number;
  readonly vcpus: number;
  readonly bootTimeoutMs: number;
  readonly memory?: GuestMemorySpec | undefined;
  readonly pin?: readonly number[] | undefined;
}

async function bootSession(
  machine: PreparedMachine,
  shape: BootShapeOfPlan,
  request: BootRequest,
): Promise<GuestSession> {
  const hostLoad = await readHostLoad();
  const guest = await bootGuest(guestBootOptions(machine, { ...shape, ...request }));
  let vcpuThreads: Promise<number[]> | undefined;
  const vcpuThreadIds = (): Promise<number[]> =>
    (vcpuThreads ??=
      guest.pinning !== undefined
        ? Promise.resolve(guest.pinning.vcpus.map((v) => v.threadId))
        : queryVcpuThreads(guest.vm.qmp).then((threads) => threads.map((t) => t.threadId)));
  return {
    hostLoad,
    pinning: guest.pinning,
    hostSample: async (options) => sampleQemuHost(guest.vm.pid, await vcpuThreadIds(), options),
    bootToSshMs: guest.bootToSshMs,
    exec: (argv, options) => guest.ssh.exec(argv, options),
    shell: (script) => guest.ssh.execShell(script),
    upload: (path, data, mode) => guest.ssh.writeFile(path, data, mode),
    qmp: guest.vm.qmp,
    hostRssBytes: () => readRssBytes(guest.vm.pid),
    qemuTrouble: async () => {
      const trouble = await describeProcessTrouble(guest.vm.pid);
      // A QEMU that is gone is reaped by its owner shortly: wait for how it ended (the signal).
      if (guest.vm.hasExited || trouble === "is gone" || trouble === "has exited") {
        const exit = await Promise.race([guest.vm.exited, sleep(2_000).then(() => undefined)]);
        if (exit !== undefined) return `exited (${describeExit(exit)})`;
      }
      return trouble;
    },
    stop: () => guest.stop(),
    [Symbol.asyncDispose]: () => guest[Symbol.asyncDispose](),
  };
}

export const realMachinePort: MachinePort = {
  inspectQemu,
  checkKernelImages,
  prepareMachine,
  async workload() {
    const built = await buildAllocOnce(cacheDir());
    const bytes = await readFile(built.path);
    return { bytes, sha256: built.sha256, sourceSha256: built.sourceSha256 };
  },
  userFile: readUserFile,
  boot: bootSession,
  host: hostFacts,
};
