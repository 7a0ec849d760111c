import { UsageError } from "../errors.js";
import { formatCpuOrder, parseCpuList } from "../host/cpu-list.js";
import type { HostState } from "../host/host-state.js";
import { checkPinCount, checkPinOnline, parsePinList } from "../host/vcpu-pinning.js";
import type { GuestMemorySpec, MemoryBacking } from "../qemu/qemu-argv.js";
import type { Plan, Workload } from "./plan.js";

/**
 * The plan's `vm` options beyond size: guest RAM (merge, backing) and vCPU pinning, with the
 * checks a schema cannot make. Pure; plan-file.ts turns the problems into PlanFieldErrors.
 */
export const MEMORY_BACKINGS = ["anonymous", "memfd", "hugetlb"] as const;

export interface VmProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly hint: string;
}

const CAVEAT =
  'QEMU warns that ballooning with a backing page size over 4 KiB "may not be reliable", and free page reporting skips ranges not aligned to the 2 MiB pages';

function scenarioName(workload: Workload): string {
  return workload.balloon.kind;
}

/** The workloads whose balloon scenario moves pages through the balloon. */
function balloonWorkloads(workloads: readonly Workload[]): Workload[] {
  return workloads.filter((w) => w.balloon.kind !== "none");
}

/**
 * Pure: a hugetlb-backed guest with a reporting or inflate-deflate scenario is refused, plainly,
 * unless `allowHugetlbBalloon`; and a memory size that is not whole 2 MiB pages.
 */
export function hugetlbProblem(
  vm: { memoryBacking: MemoryBacking; allowHugetlbBalloon: boolean; memoryMiB: number },
  workloads: readonly Workload[],
): VmProblem | undefined {
  if (vm.memoryBacking !== "hugetlb") return undefined;
  if (vm.memoryMiB % 2 !== 0)
    return {
      path: ["vm", "memoryMiB"],
      message: `vm.memoryBacking hugetlb needs whole 2 MiB pages, but memoryMiB is ${vm.memoryMiB}`,
      hint: `use memoryMiB ${vm.memoryMiB + 1}`,
    };
  const index = workloads.findIndex((w) => w.balloon.kind !== "none");
  const workload = workloads[index];
  if (workload === undefined || vm.allowHugetlbBalloon) return undefined;
  return {
    path: ["workloads", index, "balloon"],
    message: `workload ${workload.name} uses the balloon (${scenarioName(workload)}) on hugetlb-backed guest memory: ${CAVEAT}`,
    hint: "back guest memory with anonymous or memfd, use balloon none, or set vm.allowHugetlbBalloon true to run it anyway (warned and recorded)",
  };
}

/**
 * Pure: what a run warns about and records for hugetlb backing: the balloon scenarios it was
 * allowed to run anyway, and configs offering free page reporting (bit 5).
 */
export function hugetlbCaveats(plan: Plan): string[] {
  if (plan.memoryBacking !== "hugetlb") return [];
  const caveats = balloonWorkloads(plan.workloads).map(
    (w) =>
      `workload ${w.name} uses the balloon (${scenarioName(w)}) on hugetlb-backed guest memory (vm.allowHugetlbBalloon): ${CAVEAT}`,
  );
  for (const config of plan.configs.filter((c) => c.bits.includes(5)))
    caveats.push(
      `config ${config.name} offers free page reporting (bit 5) on hugetlb-backed guest memory: QEMU discards only reported ranges aligned to 2 MiB`,
    );
  return caveats;
}

/** Pure: the pin list of a plan (text or numbers), checked against the vCPUs. */
export function pinFromField(
  value: string | readonly number[] | undefined,
  vcpus: number,
  name: string,
): number[] | undefined {
  if (value === undefined) return undefined;
  const pin = parsePinList(typeof value === "string" ? value : value.join(","), name);
  checkPinCount(pin, vcpus, name);
  return pin;
}

/**
 * Pure: `--pin CPUS` on run, calibrate (over the plan file's `vm.pin` too: pinning is the host's
 * business, so it is not part of the plan's hash) and up.
 */
export function withPinFlag(plan: Plan, text: string | undefined): Plan {
  if (text === undefined) return plan;
  return { ...plan, pin: pinFromField(text, plan.vcpus, "--pin") };
}

/** The guest memory of a plan's boots, as the QEMU argv takes it. */
export function guestMemoryOf(plan: Pick<Plan, "memMerge" | "memoryBacking">): GuestMemorySpec {
  return { merge: plan.memMerge, backing: plan.memoryBacking };
}

/** Pure: enough free 2 MiB host huge pages for a hugetlb-backed guest, or a one-line error. */
export function hugepagesShortage(
  memoryMiB: number,
  hugepages: { readonly total: number; readonly free: number } | null,
): UsageError | undefined {
  const needed = Math.ceil(memoryMiB / 2);
  const free = hugepages?.free ?? 0;
  if (free >= needed) return undefined;
  const total = hugepages?.total ?? 0;
  return new UsageError(
    `vm.memoryBacking hugetlb needs ${needed} free 2 MiB huge pages for a ${memoryMiB} MiB guest; the host has ${free} free (${total} reserved)`,
    { hint: `raise vm.nr_hugepages: sysctl -w vm.nr_hugepages=${total + needed - free} (as root)` },
  );
}

/** What a run's guests need of the host, checked before anything boots. */
export interface GuestHostNeeds {
  readonly memoryMiB: number;
  readonly memory: GuestMemorySpec;
  readonly pin?: readonly number[] | undefined;
}

/**
 * Pure: refuses, before booting, pinned CPUs that do not exist or are offline and a hugetlb
 * guest the host has too few free huge pages for (one-line UsageErrors, exit 2).
 */
export function checkHostForGuest(needs: GuestHostNeeds, state: HostState): void {
  if (needs.pin !== undefined) {
    const online = state.cpus.online === null ? undefined : parseCpuList(state.cpus.online);
    if (online === undefined)
      throw new UsageError(
        "vCPU pinning needs /sys/devices/system/cpu/online, which cannot be read",
        {
          hint: "mount /sys, or drop the pin",
        },
      );
    const possible = state.cpus.possible === null ? undefined : parseCpuList(state.cpus.possible);
    checkPinOnline(needs.pin, { online, possible }, `vCPU pin ${formatCpuOrder(needs.pin)}`);
  }
  if (needs.memory.backing === "hugetlb") {
    const shortage = hugepagesShortage(needs.memoryMiB, state.hugepages2M);
    if (shortage !== undefined) throw shortage;
  }
}
