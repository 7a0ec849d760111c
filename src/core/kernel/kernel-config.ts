/**
 * The kernel configuration a balloon-bench guest needs: the default recipe (x86_64 defconfig +
 * kvm_guest.config + the options below), fragment merging, and the check that the final .config
 * has every option the tool needs. Pure over config texts.
 */
import { UsageError } from "../errors.js";

/**
 * "y": must be built in (needed before any module can be loaded, or by PID 1 itself);
 * "ym": built in or a module (the initramfs or the modules disk loads it).
 */
export type Need = "y" | "ym";

export interface RequiredOption {
  /** Without the CONFIG_ prefix. */
  readonly name: string;
  readonly need: Need;
  /** What breaks without it; shown in the error. */
  readonly why: string;
  /**
   * A required option this one depends on or is selected by: when that one is missing too, only
   * that one is reported (e.g. VIRTIO_BALLOON selects MEMORY_BALLOON and PAGE_REPORTING).
   */
  readonly follows?: string;
}

/**
 * Everything the tool relies on in the guest kernel: the devices under test, the features the
 * bench measures, and what the initramfs (images/initramfs-init.sh), PID 1
 * (images/guest-init.sh, images/fstab) and sshd need.
 */
export const REQUIRED_OPTIONS: readonly RequiredOption[] = [
  // Boot: PVH entry (QEMU -kernel vmlinux), serial console (the tool watches it), initramfs.
  { name: "PVH", need: "y", why: "QEMU boots the guest through its PVH entry" },
  { name: "SERIAL_8250", need: "y", why: "the tool reads the guest's serial console" },
  {
    name: "SERIAL_8250_CONSOLE",
    need: "y",
    why: "console=ttyS0 is how the tool sees the boot",
    follows: "SERIAL_8250",
  },
  { name: "BLK_DEV_INITRD", need: "y", why: "the initramfs loads modular disk/net drivers" },
  { name: "BINFMT_ELF", need: "y", why: "busybox and sshd are ELF programs" },
  {
    name: "BINFMT_SCRIPT",
    need: "y",
    why: "the initramfs /init and the guest's /sbin/init are shell scripts",
  },
  { name: "DEVTMPFS", need: "y", why: "the initramfs mounts devtmpfs on /dev" },
  { name: "PROC_FS", need: "y", why: "the guest reads /proc (cmdline, vmstat, meminfo)" },
  { name: "PROC_SYSCTL", need: "y", why: "the bench writes /proc/sys/vm/drop_caches" },
  { name: "SYSFS", need: "y", why: "the guest reads /sys (virtio features, THP)" },
  { name: "TMPFS", need: "y", why: "/run, /tmp and /dev/shm are tmpfs (images/fstab)" },
  { name: "UNIX98_PTYS", need: "y", why: "ssh sessions with a terminal need devpts" },
  { name: "MAGIC_SYSRQ", need: "y", why: "the guest powers off through /proc/sysrq-trigger" },
  { name: "MULTIUSER", need: "y", why: "sshd changes user ids" },
  // Network and sshd.
  { name: "NET", need: "y", why: "the tool talks to the guest over SSH" },
  { name: "INET", need: "y", why: "the tool talks to the guest over SSH (TCP/IP)", follows: "NET" },
  {
    name: "UNIX",
    need: "y",
    why: "sshd uses unix sockets before any module can be loaded",
    follows: "NET",
  },
  // Devices: virtio over PCI, the root disk, the network, the balloon under test.
  { name: "PCI", need: "y", why: "QEMU's virtio devices are PCI devices" },
  {
    name: "VIRTIO_PCI",
    need: "ym",
    why: "every device of the guest is virtio-pci",
    follows: "PCI",
  },
  { name: "VIRTIO_BLK", need: "ym", why: "the root and modules disks are virtio-blk" },
  { name: "VIRTIO_NET", need: "ym", why: "SSH reaches the guest through virtio-net" },
  { name: "VIRTIO_BALLOON", need: "ym", why: "it is the device under test" },
  { name: "MEMORY_BALLOON", need: "y", why: "virtio-balloon inflation", follows: "VIRTIO_BALLOON" },
  {
    name: "PAGE_REPORTING",
    need: "y",
    why: "free page reporting (feature bit 5) is measured",
    follows: "VIRTIO_BALLOON",
  },
  { name: "EXT4_FS", need: "ym", why: "the root and modules disks are ext4" },
  // What the bench measures and uses.
  { name: "TRANSPARENT_HUGEPAGE", need: "y", why: "the bench sets and reports THP" },
  { name: "HUGETLBFS", need: "y", why: "the bench uses nr_overcommit_hugepages" },
  { name: "PERF_EVENTS", need: "y", why: "the bench runs `perf stat` in the guest" },
];

/** make targets run first (in order) for the default guest configuration. */
export const DEFAULT_CONFIG_TARGETS = ["defconfig", "kvm_guest.config"] as const;

/** Options switched off by default: debug info doubles the build time and is never used. */
export const DEFAULT_DISABLED = [
  "DEBUG_INFO",
  "DEBUG_INFO_BTF",
  "DEBUG_INFO_DWARF4",
  "DEBUG_INFO_DWARF5",
  "DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT",
] as const;

/**
 * Hardware a QEMU guest of the tool never has (it gets virtio devices and a serial console
 * only), switched off by default: defconfig builds them for real machines, and they are about
 * half of its compile. A user who needs one passes a --fragment (or --config).
 */
export const GUEST_ABSENT_HARDWARE = [
  "DRM", // graphics (i915 alone is hundreds of files)
  "AGP",
  "FB",
  "SOUND",
  "USB_SUPPORT",
  "HID",
  "INPUT_KEYBOARD",
  "INPUT_MOUSE",
  "INPUT_JOYSTICK",
  "INPUT_TABLET",
  "INPUT_TOUCHSCREEN",
  "INPUT_MISC",
  "WLAN",
  "WIRELESS",
  "CFG80211",
  "MAC80211",
  "RFKILL",
  "ETHERNET", // NIC drivers: the guest's network is virtio-net
  "FIREWIRE",
  "ATA", // disk controllers: the guest's disks are virtio-blk
  "SCSI",
  "MD",
  "PCCARD",
  "MACINTOSH_DRIVERS",
  "I2C",
  "WATCHDOG",
  "NETFILTER", // firewalling: the guest is only reached over user-mode networking
  "NETWORK_FILESYSTEMS",
] as const;

/** `scripts/config` arguments applied after the default targets, before `make olddefconfig`. */
export function defaultConfigArgs(): string[] {
  const args: string[] = [];
  for (const option of REQUIRED_OPTIONS) args.push("--enable", option.name);
  for (const name of [...DEFAULT_DISABLED, ...GUEST_ABSENT_HARDWARE]) args.push("--disable", name);
  args.push("--enable", "DEBUG_INFO_NONE");
  return args;
}

/** A human-readable statement of the default recipe (for the manifest and docs). */
export function describeDefaultRecipe(): string {
  return [
    ...DEFAULT_CONFIG_TARGETS.map((t) => `make ${t}`),
    `scripts/config ${defaultConfigArgs().join(" ")}`,
    "make olddefconfig",
  ].join(" && ");
}

/** Value of each option: "y", "m", "n" (for `# CONFIG_X is not set`), or the literal value. */
export function parseKernelConfig(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const unset = /^# CONFIG_([A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset?.[1] !== undefined) {
      values.set(unset[1], "n");
      continue;
    }
    const set = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set?.[1] !== undefined && set[2] !== undefined) values.set(set[1], set[2]);
  }
  return values;
}

/** The option a config line sets, if any. */
function optionOfLine(line: string): string | undefined {
  const trimmed = line.trim();
  return (
    /^# CONFIG_([A-Za-z0-9_]+) is not set$/.exec(trimmed)?.[1] ??
    /^CONFIG_([A-Za-z0-9_]+)=/.exec(trimmed)?.[1]
  );
}

/**
 * Merges a config fragment into a .config as scripts/kconfig/merge_config.sh -m does: each
 * option the fragment sets replaces its line in the base (or is appended); other lines stay.
 * The result still needs `make olddefconfig`.
 */
export function mergeConfigFragment(base: string, fragment: string): string {
  const replacements = new Map<string, string>();
  for (const line of fragment.split("\n")) {
    const option = optionOfLine(line);
    if (option !== undefined) replacements.set(option, line.trim());
  }
  const out: string[] = [];
  const done = new Set<string>();
  for (const line of base.split("\n")) {
    const option = optionOfLine(line);
    if (option !== undefined && replacements.has(option)) {
      if (!done.has(option)) out.push(replacements.get(option) ?? line);
      done.add(option);
      continue;
    }
    out.push(line);
  }
  while (out.length > 0 && out.at(-1) === "") out.pop();
  for (const [option, line] of replacements) if (!done.has(option)) out.push(line);
  return `${out.join("\n")}\n`;
}

/** A config the user supplied (--config FILE or a --fragment FILE), by label. */
export interface ConfigInput {
  readonly kind: "config" | "fragment";
  readonly label: string;
  readonly text: string;
}

export interface OptionProblem {
  readonly option: RequiredOption;
  /** "n" when unset or absent, else the value found (e.g. "m" for a "y" option). */
  readonly found: string;
  /** The user input that sets it off (the last one that mentions it), if any. */
  readonly disabledBy: ConfigInput | undefined;
}

/** Every required option the final .config lacks (or has as a module where it must be built in). */
export function checkRequiredOptions(
  finalConfig: string,
  inputs: readonly ConfigInput[] = [],
  required: readonly RequiredOption[] = REQUIRED_OPTIONS,
): OptionProblem[] {
  const values = parseKernelConfig(finalConfig);
  const problems: OptionProblem[] = [];
  for (const option of required) {
    const found = values.get(option.name) ?? "n";
    const ok = found === "y" || (option.need === "ym" && found === "m");
    if (ok) continue;
    let disabledBy: ConfigInput | undefined;
    for (const input of inputs) {
      const value = parseKernelConfig(input.text).get(option.name);
      if (value !== undefined) disabledBy = value === "y" || value === "m" ? undefined : input;
      else if (input.kind === "config") disabledBy = input; // a full config that omits it
    }
    problems.push({ option, found, disabledBy });
  }
  // An option missing only because a required option it follows is missing is not reported.
  const missing = new Set(problems.map((p) => p.option.name));
  return problems.filter((p) => p.option.follows === undefined || !missing.has(p.option.follows));
}

/** The one-line error for the problems found (undefined when there are none). */
export function requiredOptionsError(problems: readonly OptionProblem[]): UsageError | undefined {
  const first = problems[0];
  if (first === undefined) return undefined;
  const describe = (p: OptionProblem): string => {
    const state =
      p.found === "n"
        ? `CONFIG_${p.option.name} is not set in the resulting .config`
        : `CONFIG_${p.option.name}=${p.found} in the resulting .config but must be built in (=y)`;
    const cause =
      p.disabledBy === undefined
        ? "olddefconfig dropped it: an option it depends on is off"
        : `your ${p.disabledBy.kind} ${p.disabledBy.label} ${p.found === "n" ? "disables it" : "makes it a module"}`;
    return `${state} (${cause}); the tool needs it: ${p.option.why}`;
  };
  const names = problems.map(
    (p) => `CONFIG_${p.option.name}=${p.option.need === "y" ? "y" : "y (or m)"}`,
  );
  const message =
    problems.length === 1
      ? describe(first)
      : `${problems.length} options the tool needs are missing from the resulting .config: ${problems.map(describe).join("; ")}`;
  return new UsageError(message, {
    hint: `set ${names.join(" ")} in your config or a --fragment (and what they depend on), or drop --config to use the default guest config`,
  });
}
