import { UsageError } from "../errors.js";
import type { KernelSpec } from "../kernel/kernel-spec.js";
import type { AcceleratorRequest } from "../qemu/accelerator.js";

export interface RunOptions {
  /** Kernel builds to run; empty means Debian's current stock kernel. */
  readonly kernels: readonly KernelSpec[];
  readonly sizeMiB: number;
  readonly iterations: number;
  readonly warmups: number;
  readonly huge: boolean;
  readonly accel: AcceleratorRequest;
  readonly qemu?: string | undefined;
  readonly out: string;
  readonly events: readonly string[];
  readonly features: readonly number[];
  readonly propertyMap: ReadonlyMap<number, string>;
  readonly memoryMiB: number;
  readonly vcpus: number;
  readonly bootTimeoutMs: number;
  readonly settleMs: number;
  readonly balloonModule?: string | undefined;
}

/** Memory the guest kernel and userspace need besides alloc_once's allocation. */
export const GUEST_RESERVE_MIB = 384;
const EVENT = /^[A-Za-z0-9_.:/=@-]+$/;

export function parsePositiveInt(value: string, flag: string, min = 1): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < min) {
    throw new UsageError(`${flag} must be a whole number >= ${min}, got '${value}'`, {
      hint: `e.g. ${flag} ${Math.max(min, 10)}`,
    });
  }
  return Number(value);
}

export function parseEvents(value: string): string[] {
  const events = value
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  if (events.length === 0)
    throw new UsageError("--events is empty", {
      hint: "e.g. --events task-clock,instructions,cache-misses",
    });
  for (const event of events) {
    if (!EVENT.test(event)) {
      throw new UsageError(`'${event}' is not a perf event name`, {
        hint: "list events as perf names, e.g. task-clock,page-faults",
      });
    }
  }
  return events;
}

/** Checks what can be checked before anything boots; throws one-line UsageErrors. */
export function validateRunOptions(options: RunOptions): void {
  if (options.sizeMiB + GUEST_RESERVE_MIB > options.memoryMiB) {
    throw new UsageError(
      `--size ${options.sizeMiB} MiB does not fit in a ${options.memoryMiB} MiB guest (${GUEST_RESERVE_MIB} MiB stay reserved for the kernel and userspace)`,
      {
        hint: `use --size ${Math.max(1, options.memoryMiB - GUEST_RESERVE_MIB)} or less, or --memory ${options.sizeMiB + GUEST_RESERVE_MIB}`,
      },
    );
  }
  if (options.huge && options.sizeMiB % 2 !== 0) {
    throw new UsageError(
      `--huge needs a --size that is a multiple of 2 MiB (hugetlb pages), got ${options.sizeMiB}`,
      {
        hint: `use --size ${options.sizeMiB + 1}`,
      },
    );
  }
  if (options.vcpus < 1) throw new UsageError("--vcpus must be at least 1");
}
