import { readFile } from "node:fs/promises";
import { cpus, hostname, release } from "node:os";
import { join } from "node:path";
import type { KernelSpec } from "../core/plan/kernel-spec.js";
import {
  chooseAccelerator,
  type AcceleratorChoice,
  type AcceleratorRequest,
} from "../core/qemu/accelerator.js";
import type { HostState } from "../core/host/host-state.js";
import { checkHostForGuest, type GuestHostNeeds } from "../core/plan/vm-options.js";
import type { BalloonDeviceSpec, GuestMemorySpec } from "../core/qemu/qemu-argv.js";
import { cacheDir } from "../util/paths.js";
import { sweepStaleDirs } from "../util/private-dir.js";
import type { GuestBootOptions } from "./guest/guest-vm.js";
import { ensureGuestImage, type GuestImage } from "./image/guest-image.js";
import { readKernelImageHeader } from "./kernel/kernel-image.js";
import { resolveKernelSpecs } from "./kernel/kernel-source.js";
import { checkBuildInputs } from "./kernel-build/build-inputs.js";
import { prepareKernel, type PreparedKernel } from "./kernel/prepared-kernel.js";
import { readHostState } from "./host/read-host-state.js";
import { readHostAccelFacts } from "./qemu/host-accel-facts.js";
import {
  readDeviceProperties,
  readQemuBinaryInfo,
  resolveQemuBinary,
  type QemuBinaryInfo,
} from "./qemu/qemu-binary.js";

/** A QEMU binary and what it can do, read before anything is booted. */
export interface QemuFacts {
  readonly path: string;
  readonly info: QemuBinaryInfo;
  /** Properties its virtio-balloon-pci has (`-device virtio-balloon-pci,help`). */
  readonly deviceProperties: ReadonlySet<string>;
}

export async function inspectQemu(requested: string | undefined): Promise<QemuFacts> {
  const path = await resolveQemuBinary(requested);
  return {
    path,
    info: await readQemuBinaryInfo(path),
    deviceProperties: new Set(await readDeviceProperties(path, "virtio-balloon-pci")),
  };
}

/** Every kernel image given by path is checked (bzImage header) before anything else happens. */
export async function checkKernelImages(specs: readonly KernelSpec[]): Promise<void> {
  for (const spec of specs) {
    // A kernel to build: its tree, series and config files are read now (the build comes later).
    if (spec.build !== undefined) await checkBuildInputs(spec.build);
    else if (!spec.kernelPath.startsWith("debian:")) await readKernelImageHeader(spec.kernelPath);
  }
}

/** A kernel made ready to boot, and whether hugetlb workloads have a chance on it. */
export type MachineKernel = PreparedKernel & { readonly hugetlbOk: boolean };

/** Everything a boot needs that does not change from boot to boot. */
export interface PreparedMachine {
  readonly qemu: QemuFacts;
  readonly accelerator: AcceleratorChoice;
  readonly kernels: ReadonlyMap<string, MachineKernel>;
  readonly image: GuestImage;
  /** The host's settings when the machine was prepared (recorded in the manifest). */
  readonly hostState?: HostState | undefined;
}

export interface MachineRequest {
  readonly qemu: QemuFacts;
  readonly accel: AcceleratorRequest;
  /** The kernels to prepare; none means Debian's stock kernel. */
  readonly kernels: readonly KernelSpec[];
  readonly log: (line: string) => void;
  /** Pinned CPUs and guest memory backing, checked against the host before anything else. */
  readonly guest?: GuestHostNeeds | undefined;
}

/** Does hugetlb have a chance on this kernel? Checked from its config before booting, when known. */
async function hugetlbConfigured(kernel: PreparedKernel, spec: KernelSpec): Promise<boolean> {
  if (spec.modulesDir === undefined) return true;
  // A package keeps its config in boot/; a build from a tree beside its modules (the cache entry).
  const configPath =
    spec.built === undefined
      ? join(spec.modulesDir, "boot", `config-${kernel.release}`)
      : join(spec.modulesDir, "..", "config");
  const config = await readFile(configPath, "utf8").catch(() => undefined);
  return config === undefined || /^CONFIG_HUGETLBFS=y$/m.test(config);
}

/**
 * The machine `run`, `calibrate` and `up` boot: the accelerator (chosen, never silently
 * changed), the kernels (fetched and prepared, cached), the guest image (built when missing).
 */
export async function prepareMachine(request: MachineRequest): Promise<PreparedMachine> {
  const hostState = await readHostState();
  if (request.guest !== undefined) checkHostForGuest(request.guest, hostState);
  // A balloon-bench killed with SIGKILL cannot clean up: its run directories and overlays go now.
  const swept = await sweepStaleDirs();
  if (swept.length > 0)
    request.log(
      `removed ${swept.length} run director${swept.length === 1 ? "y" : "ies"} left by killed balloon-bench processes`,
    );
  const accelerator = chooseAccelerator(request.accel, await readHostAccelFacts());
  for (const warning of accelerator.warnings) request.log(`warning: ${warning}`);
  request.log(`accelerator: ${accelerator.accelerator} (${accelerator.reason})`);
  const cache = cacheDir();
  const kernels = new Map<string, MachineKernel>();
  for (const spec of await resolveKernelSpecs(cache, request.kernels, request.log)) {
    const kernel = await prepareKernel(cache, spec, request.log);
    kernels.set(spec.name, { ...kernel, hugetlbOk: await hugetlbConfigured(kernel, spec) });
  }
  const image = await ensureGuestImage(cache, { progress: request.log });
  return { qemu: request.qemu, accelerator, kernels, image, hostState };
}

/** Per boot: what changes between boots of one machine. */
export interface BootShape {
  readonly kernel: PreparedKernel;
  readonly balloon: BalloonDeviceSpec;
  readonly memoryMiB: number;
  readonly vcpus: number;
  readonly logDir: string;
  readonly bootTimeoutMs: number;
  readonly deferBalloonModule?: boolean;
  /** Guest RAM's merge and backing (QEMU's defaults when undefined). */
  readonly memory?: GuestMemorySpec | undefined;
  /** Host CPU of each vCPU; QEMU's other threads go to the other online CPUs. */
  readonly pin?: readonly number[] | undefined;
}

/** The bootGuest options of one boot: `run` and `up` boot through this, so they boot alike. */
export function guestBootOptions(machine: PreparedMachine, shape: BootShape): GuestBootOptions {
  return {
    qemuPath: machine.qemu.path,
    accelerator: machine.accelerator,
    image: machine.image,
    ...shape,
  };
}

/** The host as results record it. */
export function hostFacts(): { kernel: string; cpuModel: string; hostname: string } {
  return { kernel: release(), cpuModel: cpus()[0]?.model ?? "unknown", hostname: hostname() };
}
