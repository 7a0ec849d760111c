import { mkdtemp, rename } from "node:fs/promises";
import { join } from "node:path";
import { balloonDeviceForFeatures } from "../core/balloon/balloon-device.js";
import { UsageError } from "../core/errors.js";
import type { KernelSpec } from "../core/plan/kernel-spec.js";
import { PLAN_DEFAULTS } from "../core/plan/plan-defaults.js";
import { guestMemoryOf } from "../core/plan/vm-options.js";
import type { AcceleratorChoice, AcceleratorRequest } from "../core/qemu/accelerator.js";
import {
  qemuOptValue,
  type BalloonDeviceSpec,
  type GuestMemorySpec,
} from "../core/qemu/qemu-argv.js";
import { readGuestFacts, replaceBalloonModule } from "../machine/guest/balloon-module.js";
import { bootGuest, type GuestVm } from "../machine/guest/guest-vm.js";
import {
  checkKernelImages,
  guestBootOptions,
  inspectQemu,
  prepareMachine,
  type PreparedMachine,
} from "../machine/prepare-machine.js";
import type { PreparedKernel } from "../machine/kernel/prepared-kernel.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import { removeDir } from "../util/private-dir.js";
import { isVmAlive } from "./live-vm.js";
import { ensureLiveVmsDir, parseVmName } from "./live-paths.js";
import { readProcessStartTime, selfIdentity } from "../util/process-identity.js";
import { readVmStateFile, writeVmState, type LiveVmState } from "./vm-state.js";
import { isSameProcess } from "../util/process-identity.js";

type Progress = (line: string) => void;

export interface UpOptions {
  readonly name: string;
  /** At most one kernel build; none means Debian's stock kernel, as for `run`. */
  readonly kernels: readonly KernelSpec[];
  readonly features: readonly number[];
  readonly propertyMap: ReadonlyMap<number, string>;
  /** Extra device properties (a plan config's `properties`). */
  readonly deviceProperties?: readonly (readonly [string, string])[];
  readonly accel: AcceleratorRequest;
  readonly qemu: string | undefined;
  readonly memoryMiB: number;
  readonly vcpus: number;
  readonly bootTimeoutMs: number;
  /** Guest RAM's merge and backing (as `run` boots it). */
  readonly memory?: GuestMemorySpec | undefined;
  /** Host CPU of each vCPU (--pin, vm.pin). */
  readonly pin?: readonly number[] | undefined;
  /** A virtio_balloon.ko insmod'ed in place of the kernel's (--balloon-module, as `run`). */
  readonly balloonModule?: {
    readonly path: string;
    readonly bytes: Buffer;
    readonly sha256: string;
  };
}

export interface UpResult {
  readonly dir: string;
  readonly state: LiveVmState;
  readonly accelerator: AcceleratorChoice;
}

/** The marker in a live VM's QEMU argv (`-name`); the test suite's leak check looks for "bb-vm-". */
export function liveVmMarker(name: string): string {
  return `bb-vm-live-${name}`;
}

/**
 * Takes the name: the state directory is prepared under a temporary name and renamed into place,
 * which fails when the name exists, so two `up` never share a name. A name whose VM has died is
 * cleaned and taken.
 */
async function claimName(
  root: string,
  dir: string,
  initial: LiveVmState,
  progress: Progress,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const tmp = await mkdtemp(join(root, `.${initial.name}.tmp-`));
    await writeVmState(tmp, initial);
    try {
      await rename(tmp, dir);
      return;
    } catch (error) {
      await removeDir(tmp);
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== "EEXIST" && code !== "ENOTEMPTY") || attempt > 0) throw error;
    }
    const read = await readVmStateFile(dir);
    if (
      read.kind === "damaged" &&
      read.process !== undefined &&
      (await isSameProcess(read.process))
    ) {
      throw new UsageError(
        `VM ${initial.name} exists with a damaged state, and its QEMU (pid ${read.process.pid}) runs`,
        {
          hint: `stop it first with \`balloon-bench down ${initial.name}\`, or pick another --name`,
        },
      );
    }
    const existing = read.kind === "ok" ? read.state : undefined;
    if (existing !== undefined && (await isVmAlive(existing))) {
      const what =
        existing.phase === "running"
          ? `is already running (QEMU pid ${existing.qemu?.pid ?? "?"}, SSH port ${existing.sshPort ?? "?"})`
          : `is being started by balloon-bench pid ${existing.owner.pid}`;
      throw new UsageError(`a VM named ${initial.name} ${what}`, {
        hint: `pick another --name, or stop it first with \`balloon-bench down ${initial.name}\``,
      });
    }
    progress(`up: removed the stale state of VM ${initial.name} (its QEMU had exited)`);
    await removeDir(dir);
  }
}

/** The state a new VM starts with (phase "starting": the name is taken, no QEMU yet). */
async function initialState(
  name: string,
  dir: string,
  options: UpOptions,
  machine: PreparedMachine,
  kernel: PreparedKernel,
  balloon: BalloonDeviceSpec,
): Promise<LiveVmState> {
  return {
    schema: 1,
    name,
    phase: "starting",
    createdAt: new Date().toISOString(),
    owner: await selfIdentity(),
    qemuPath: machine.qemu.path,
    qmpSocket: join(dir, "qmp.sock"),
    eventsQmpSocket: join(dir, "qmp-events.sock"),
    hostKey: machine.image.hostKeyLine.trim(),
    clientKeyPath: machine.image.clientKeyPath,
    requestedBits: [...options.features],
    ...(options.balloonModule === undefined
      ? {}
      : {
          balloonModule: { path: options.balloonModule.path, sha256: options.balloonModule.sha256 },
        }),
    balloonProperties: balloon.properties.map(([k, v]): [string, string] => [k, v]),
    kernel: { name: kernel.name, release: kernel.release, path: kernel.kernelPath },
    memoryMiB: options.memoryMiB,
    vcpus: options.vcpus,
    accelerator: machine.accelerator.accelerator,
    consoleLog: join(dir, "console.log"),
    stderrLog: join(dir, "qemu-stderr.log"),
  };
}

/** bench.sh's rmmod/insmod with the user's module; on failure this QEMU is stopped, not left. */
async function swapBalloonModule(guest: GuestVm, module: Buffer): Promise<void> {
  const session = {
    exec: (argv: readonly string[]) => guest.ssh.exec(argv),
    shell: (script: string) => guest.ssh.execShell(script),
    upload: (path: string, data: Buffer, mode: number) => guest.ssh.writeFile(path, data, mode),
  };
  try {
    await replaceBalloonModule(session, await readGuestFacts(session), module);
  } catch (error) {
    await guest.stop();
    throw error;
  }
}

/** A live VM's own QEMU arguments: its marker name and the second QMP monitor (for events). */
function liveVmArgs(state: LiveVmState): string[] {
  return [
    "-name",
    liveVmMarker(state.name),
    "-chardev",
    `socket,id=qmp1,path=${qemuOptValue(state.eventsQmpSocket)},server=on,wait=off`,
    "-mon",
    "chardev=qmp1,mode=control",
  ];
}

/** Boots the VM as `run` would, plus what a live VM needs: a name, a second monitor, state. */
async function bootLive(
  dir: string,
  initial: LiveVmState,
  options: UpOptions,
  machine: PreparedMachine,
  shape: { kernel: PreparedKernel; balloon: BalloonDeviceSpec },
): Promise<LiveVmState> {
  let state = initial;
  const guest = await bootGuest({
    ...guestBootOptions(machine, {
      ...shape,
      memoryMiB: options.memoryMiB,
      vcpus: options.vcpus,
      logDir: dir,
      bootTimeoutMs: options.bootTimeoutMs,
      memory: options.memory ?? guestMemoryOf(PLAN_DEFAULTS),
      pin: options.pin,
      deferBalloonModule: options.balloonModule !== undefined,
    }),
    stateDir: dir,
    // The VM outlives this process; `down` stops it.
    dieWithParent: false,
    extraArgs: liveVmArgs(state),
    onLaunched: async (vm, sshPort) => {
      const startTime = await readProcessStartTime(vm.pid);
      if (startTime === undefined) throw new Error(`QEMU pid ${vm.pid} vanished`);
      state = {
        ...state,
        phase: "booting",
        qemu: { pid: vm.pid, startTime },
        qemuCommand: [...vm.command],
        sshPort,
      };
      await writeVmState(dir, state);
    },
  });
  if (options.balloonModule !== undefined) {
    await swapBalloonModule(guest, options.balloonModule.bytes);
  }
  const { hostKey } = machine.image;
  const knownHostsPath = join(dir, "known_hosts");
  await writeFileAtomic(
    knownHostsPath,
    `[127.0.0.1]:${guest.sshPort} ${hostKey.type} ${hostKey.blob.toString("base64")}\n`,
  );
  state = {
    ...state,
    phase: "running",
    knownHostsPath,
    bootToSshMs: guest.bootToSshMs,
    ...(guest.pinning === undefined ? {} : { pinning: guest.pinning }),
  };
  await writeVmState(dir, state);
  guest.detach();
  return state;
}

/**
 * `balloon-bench up`: boots a guest exactly as `run` does (prepareMachine, guestBootOptions)
 * and leaves it running in the background, its state recorded in its state directory.
 */
export async function upVm(options: UpOptions, progress: Progress): Promise<UpResult> {
  const name = parseVmName(options.name);
  if (options.kernels.length > 1) {
    throw new UsageError("up boots one VM: give --kernel at most once", {
      hint: "start one VM per kernel, each with its own --name",
    });
  }
  // The same steps as `run`: inputs, QEMU and its device, then the machine.
  await checkKernelImages(options.kernels);
  const qemu = await inspectQemu(options.qemu);
  const balloon = balloonDeviceForFeatures({
    bits: options.features,
    propertyMap: options.propertyMap,
    availableProperties: qemu.deviceProperties,
    extraProperties: options.deviceProperties ?? [],
  });
  const root = await ensureLiveVmsDir();
  const dir = join(root, name);
  const machine = await prepareMachine({
    qemu,
    accel: options.accel,
    kernels: options.kernels,
    log: progress,
    guest: {
      memoryMiB: options.memoryMiB,
      memory: options.memory ?? guestMemoryOf(PLAN_DEFAULTS),
      pin: options.pin,
    },
  });
  const [kernel] = machine.kernels.values();
  if (kernel === undefined) throw new Error("no kernel prepared");
  const initial = await initialState(name, dir, options, machine, kernel, balloon);
  await claimName(root, dir, initial, progress);
  try {
    progress(
      `boot: ${kernel.name} (${kernel.release}) under ${machine.accelerator.accelerator}, ${options.memoryMiB} MiB, ${options.vcpus} vCPUs`,
    );
    const state = await bootLive(dir, initial, options, machine, { kernel, balloon });
    return { dir, state, accelerator: machine.accelerator };
  } catch (error) {
    // bootGuest has stopped QEMU; nothing of the VM may remain.
    await removeDir(dir);
    throw error;
  }
}
