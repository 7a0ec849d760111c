import { EnvironmentError, UsageError } from "../errors.js";
import type { Accelerator } from "./qemu-argv.js";

export type AcceleratorRequest = Accelerator | "auto";

export interface HostAccelFacts {
  readonly kvmDevice: "missing" | "no-access" | "ok";
  /** Loaded KVM modules from /sys/module, e.g. ["kvm", "kvm_intel"] or ["kvm", "kvm_pvm"]. */
  readonly kvmModules: readonly string[];
}

export interface AcceleratorChoice {
  readonly accelerator: Accelerator;
  readonly requested: AcceleratorRequest;
  /** Why this accelerator, in words, for the terminal and the results manifest. */
  readonly reason: string;
  readonly warnings: readonly string[];
  /** The -cpu model that goes with it: the host's under KVM, everything TCG emulates otherwise. */
  readonly cpu: string;
}

const CPU_FOR: Record<Accelerator, string> = { kvm: "host", tcg: "max" };

export function parseAcceleratorRequest(value: string): AcceleratorRequest {
  if (value === "kvm" || value === "tcg" || value === "auto") return value;
  throw new UsageError(`unknown accelerator '${value}'`, { hint: "use --accel kvm, tcg or auto" });
}

/** Whether KVM here can boot a stock kernel, and if not, why (in words). */
export function kvmUsability(facts: HostAccelFacts): {
  usable: boolean;
  reason: string;
  /** What would make KVM usable, when something here can. */
  fix?: string;
} {
  if (facts.kvmDevice === "missing") {
    return {
      usable: false,
      reason: "/dev/kvm does not exist (no KVM module loaded, or no virtualization support)",
    };
  }
  if (facts.kvmDevice === "no-access") {
    return {
      usable: false,
      reason: "/dev/kvm exists but this user cannot open it read-write (add the user to group kvm)",
      fix: "sudo usermod --append --groups kvm $USER, then log in again; until then guests run under TCG",
    };
  }
  if (facts.kvmModules.includes("kvm_pvm")) {
    // PVM is a software "pagetable-based" KVM: stock kernels hang in the decompressor.
    return {
      usable: false,
      reason:
        "KVM here is kvm_pvm, which only runs guest kernels built for PVM; stock kernels never boot",
    };
  }
  if (facts.kvmModules.includes("kvm_intel") || facts.kvmModules.includes("kvm_amd")) {
    const vendor = facts.kvmModules.includes("kvm_intel") ? "kvm_intel" : "kvm_amd";
    return { usable: true, reason: `/dev/kvm is usable (${vendor})` };
  }
  return {
    usable: false,
    reason: `/dev/kvm exists but no kvm_intel or kvm_amd module is loaded (modules: ${facts.kvmModules.join(", ") || "none"})`,
  };
}

/**
 * Chooses the accelerator. `auto` picks KVM only when it can boot a stock kernel, else TCG, and
 * says why. An explicit `kvm` is honoured where /dev/kvm opens (a PVM-built guest kernel may be
 * what the user wants) with a warning when it cannot boot stock kernels; never silently changed.
 */
export function chooseAccelerator(
  requested: AcceleratorRequest,
  facts: HostAccelFacts,
): AcceleratorChoice {
  const kvm = kvmUsability(facts);
  if (requested === "tcg") {
    return {
      accelerator: "tcg",
      requested,
      reason: "TCG was requested",
      warnings: [],
      cpu: CPU_FOR.tcg,
    };
  }
  if (requested === "kvm") {
    if (facts.kvmDevice !== "ok") {
      throw new EnvironmentError(`KVM was requested but ${kvm.reason}`, {
        hint: "fix /dev/kvm, or run with --accel tcg",
      });
    }
    return {
      accelerator: "kvm",
      requested,
      reason: "KVM was requested",
      warnings: kvm.usable ? [] : [`KVM was requested, but ${kvm.reason}`],
      cpu: CPU_FOR.kvm,
    };
  }
  if (kvm.usable) {
    return {
      accelerator: "kvm",
      requested,
      reason: `auto: ${kvm.reason}`,
      warnings: [],
      cpu: CPU_FOR.kvm,
    };
  }
  return {
    accelerator: "tcg",
    requested,
    reason: `auto: chose TCG because ${kvm.reason}`,
    warnings: ["running under TCG: timings are emulated, not comparable with KVM results"],
    cpu: CPU_FOR.tcg,
  };
}

/**
 * Pure: whether the guest sees a hardware PMU (perf's cycles, instructions, cache-misses count):
 * under KVM `-cpu host` passes the host's PMU through; TCG emulates none.
 */
export function guestPmu(choice: Pick<AcceleratorChoice, "accelerator" | "cpu">): {
  readonly visible: boolean;
  readonly reason: string;
} {
  return choice.accelerator === "kvm" && choice.cpu === "host"
    ? { visible: true, reason: "KVM -cpu host passes the host's PMU to the guest" }
    : {
        visible: false,
        reason: `${choice.accelerator} -cpu ${choice.cpu} gives the guest no hardware PMU (hardware events: not supported)`,
      };
}
