/**
 * The QEMU command line, built in one place from small pure functions, each returning the
 * argv fragment for one concern (QEMUMachine's _base_args). Never joined into a shell string.
 */

export type Accelerator = "kvm" | "tcg";

export interface KernelBoot {
  readonly kernelPath: string;
  readonly initrdPath?: string | undefined;
  /** Kernel command line arguments; joined with spaces into the single -append value. */
  readonly append: readonly string[];
}

export interface DriveSpec {
  readonly id: string;
  readonly path: string;
  readonly format: "raw" | "qcow2";
  readonly readOnly?: boolean;
}

export interface BalloonDeviceSpec {
  readonly id: string;
  /** virtio-balloon-pci properties in order, e.g. [["free-page-reporting", "on"]]. */
  readonly properties: readonly (readonly [string, string])[];
  /** An iothread the device needs (QEMU requires one for free-page-hint). */
  readonly iothreadId?: string | undefined;
}

export interface UserNetworkSpec {
  /** Host port on 127.0.0.1 forwarded to the guest's port 22. */
  readonly sshHostPort: number;
}

/** How guest RAM is backed on the host (`vm.memoryBacking`). */
export type MemoryBacking = "anonymous" | "memfd" | "hugetlb";

export interface GuestMemorySpec {
  /** KSM may merge guest RAM (QEMU's default is on; ours is off: `vm.memMerge`). */
  readonly merge: boolean;
  readonly backing: MemoryBacking;
}

/** The id of the guest RAM's memory-backend object. */
export const MEMORY_BACKEND_ID = "mem0";

export interface VmArgvConfig {
  readonly machine: string;
  /** Guest RAM: an explicit memory backend and mem-merge; QEMU's defaults when undefined. */
  readonly memory?: GuestMemorySpec | undefined;
  readonly accelerator: Accelerator;
  readonly cpu: string;
  readonly memoryMiB: number;
  readonly vcpus: number;
  readonly kernel?: KernelBoot | undefined;
  /** Firmware image for -bios (e.g. qboot, which boots a PVH kernel faster than SeaBIOS). */
  readonly firmwarePath?: string | undefined;
  readonly drives: readonly DriveSpec[];
  readonly network?: UserNetworkSpec | undefined;
  readonly balloon?: BalloonDeviceSpec | undefined;
  readonly qmpSocketPath: string;
  readonly consolePath?: string | undefined;
  readonly pidfilePath?: string | undefined;
  /** Start with the CPUs stopped (-S), e.g. to read device state without booting. */
  readonly paused?: boolean;
  /** Appended verbatim last; for what the builder does not model. */
  readonly extraArgs?: readonly string[];
}

/** Escapes a value inside a QEMU option string, where ',' separates options (QEMU doubles it). */
export function qemuOptValue(value: string): string {
  return value.replaceAll(",", ",,");
}

function optionList(head: string, options: readonly (readonly [string, string])[]): string {
  return [head, ...options.map(([key, value]) => `${key}=${qemuOptValue(value)}`)].join(",");
}

/** The -machine value: the type, mem-merge, and the RAM's backend when there is one. */
export function machineOption(machine: string, memory: GuestMemorySpec | undefined): string {
  if (memory === undefined) return machine;
  return optionList(machine, [
    ["mem-merge", memory.merge ? "on" : "off"],
    ["memory-backend", MEMORY_BACKEND_ID],
  ]);
}

export function machineArgs(
  config: Pick<VmArgvConfig, "machine" | "accelerator" | "cpu" | "memory">,
): string[] {
  return [
    "-machine",
    machineOption(config.machine, config.memory),
    "-accel",
    config.accelerator,
    "-cpu",
    config.cpu,
  ];
}

/**
 * Guest RAM as a memory-backend object: anonymous memory (memory-backend-ram, what -m alone
 * gives), a memfd, or a memfd of 2 MiB hugetlb pages (reserved on the host: vm.nr_hugepages).
 * `merge` is set on the backend too: it, not the machine, decides MADV_MERGEABLE.
 */
export function memoryBackendArgs(
  memoryMiB: number,
  memory: GuestMemorySpec | undefined,
): string[] {
  if (memory === undefined) return [];
  const type = memory.backing === "anonymous" ? "memory-backend-ram" : "memory-backend-memfd";
  return [
    "-object",
    optionList(type, [
      ["id", MEMORY_BACKEND_ID],
      ["size", `${memoryMiB}M`],
      ["merge", memory.merge ? "on" : "off"],
      ...(memory.backing === "hugetlb"
        ? ([
            ["hugetlb", "on"],
            ["hugetlbsize", "2M"],
          ] as const)
        : []),
    ]),
  ];
}

export function resourceArgs(config: Pick<VmArgvConfig, "memoryMiB" | "vcpus">): string[] {
  return ["-m", `${config.memoryMiB}M`, "-smp", String(config.vcpus)];
}

/** No default devices, no display, and a guest reboot ends QEMU instead of looping (panic=-1). */
export function baseArgs(): string[] {
  return ["-nodefaults", "-display", "none", "-no-reboot"];
}

export function firmwareArgs(firmwarePath: string | undefined): string[] {
  return firmwarePath === undefined ? [] : ["-bios", firmwarePath];
}

export function kernelArgs(kernel: KernelBoot | undefined): string[] {
  if (kernel === undefined) return [];
  const args = ["-kernel", kernel.kernelPath];
  if (kernel.initrdPath !== undefined) args.push("-initrd", kernel.initrdPath);
  if (kernel.append.length > 0) args.push("-append", kernel.append.join(" "));
  return args;
}

export function driveArgs(drives: readonly DriveSpec[]): string[] {
  return drives.flatMap((drive) => [
    "-blockdev",
    optionList(`driver=${drive.format}`, [
      ["node-name", drive.id],
      ["file.driver", "file"],
      ["file.filename", drive.path],
      ["read-only", drive.readOnly === true ? "on" : "off"],
    ]),
    "-device",
    optionList("virtio-blk-pci", [
      ["drive", drive.id],
      ["id", `${drive.id}-dev`],
    ]),
  ]);
}

/** User-mode networking; the SSH forward binds 127.0.0.1 only (an empty host address means all). */
export function networkArgs(network: UserNetworkSpec | undefined): string[] {
  if (network === undefined) return [];
  return [
    "-netdev",
    `user,id=net0,hostfwd=tcp:127.0.0.1:${network.sshHostPort}-:22`,
    "-device",
    // romfile= : no iPXE option ROM; we boot the kernel directly, and loading it costs time.
    "virtio-net-pci,netdev=net0,romfile=",
  ];
}

export function balloonArgs(balloon: BalloonDeviceSpec | undefined): string[] {
  if (balloon === undefined) return [];
  const args: string[] = [];
  const properties: [string, string][] = [
    ["id", balloon.id],
    ...balloon.properties.map(([k, v]): [string, string] => [k, v]),
  ];
  if (balloon.iothreadId !== undefined) {
    args.push("-object", `iothread,id=${balloon.iothreadId}`);
    properties.push(["iothread", balloon.iothreadId]);
  }
  args.push("-device", optionList("virtio-balloon-pci", properties));
  return args;
}

export function qmpArgs(socketPath: string): string[] {
  return [
    "-chardev",
    optionList("socket", [
      ["id", "qmp0"],
      ["path", socketPath],
      ["server", "on"],
      ["wait", "off"],
    ]),
    "-mon",
    "chardev=qmp0,mode=control",
  ];
}

export function consoleArgs(consolePath: string | undefined): string[] {
  if (consolePath === undefined) return ["-serial", "none"];
  return [
    "-chardev",
    optionList("file", [
      ["id", "console0"],
      ["path", consolePath],
    ]),
    "-serial",
    "chardev:console0",
  ];
}

export function pidfileArgs(pidfilePath: string | undefined): string[] {
  return pidfilePath === undefined ? [] : ["-pidfile", pidfilePath];
}

/** The full argv after the binary name. */
export function buildQemuArgv(config: VmArgvConfig): string[] {
  return [
    ...machineArgs(config),
    ...resourceArgs(config),
    ...memoryBackendArgs(config.memoryMiB, config.memory),
    ...baseArgs(),
    ...(config.paused === true ? ["-S"] : []),
    ...firmwareArgs(config.firmwarePath),
    ...kernelArgs(config.kernel),
    ...driveArgs(config.drives),
    ...networkArgs(config.network),
    ...balloonArgs(config.balloon),
    ...qmpArgs(config.qmpSocketPath),
    ...consoleArgs(config.consolePath),
    ...pidfileArgs(config.pidfilePath),
    ...(config.extraArgs ?? []),
  ];
}
