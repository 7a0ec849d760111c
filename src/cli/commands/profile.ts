import { join } from "node:path";
import { UsageError } from "../../core/errors.js";
import { parsePositiveInt } from "../../core/plan/input-checks.js";
import { PlanFieldError, checkWorkloadFit, formatPath } from "../../core/plan/plan-file.js";
import { profileAllocOnce } from "../../live/guest-profile.js";
import { parseVmName } from "../../live/live-paths.js";
import { openLiveVm, withLiveSsh } from "../../live/live-vm.js";
import { buildAllocOnce } from "../../machine/workload/alloc-once.js";
import { cacheDir } from "../../util/paths.js";
import type { CliIo } from "../io.js";

export interface ProfileCliOptions {
  size: string;
  huge?: boolean;
  event: string;
  out?: string;
  top: string;
}

/** The workload must fit in the live VM, by the same rule as a plan's (named by profile's flags). */
function checkFits(sizeMiB: number, huge: boolean, memoryMiB: number): void {
  try {
    checkWorkloadFit({ size: sizeMiB, pages: huge ? "hugetlb" : "default" }, memoryMiB, [], {
      field: (path) => (formatPath(path) === "size" ? "--size" : "`up --memory`"),
      value: () => "--huge",
      config: () => "--features",
      mapEntry: "",
    });
  } catch (error) {
    if (!(error instanceof PlanFieldError)) throw error;
    throw new UsageError(error.message, { hint: error.hint ?? "pick a smaller --size" });
  }
}

/** `balloon-bench profile [NAME]`: alloc_once under perf record -g in the guest, read back. */
export async function profileCommand(
  name: string,
  options: ProfileCliOptions,
  io: CliIo,
): Promise<void> {
  const vm = await openLiveVm(parseVmName(name));
  const sizeMiB = parsePositiveInt(options.size, "--size", 1, 256);
  const huge = options.huge === true;
  checkFits(sizeMiB, huge, vm.state.memoryMiB);
  const outDir =
    options.out ?? join("profiles", `${vm.name}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  const allocOnce = await buildAllocOnce(cacheDir());
  const request = {
    sizeMiB,
    huge,
    event: options.event,
    outDir,
    topEntries: parsePositiveInt(options.top, "--top", 1, 20),
  };
  const result = await withLiveSsh(vm, (ssh) =>
    profileAllocOnce(ssh, allocOnce, request, (line) => io.stderr(`${line}\n`)),
  );
  const event = result.event;
  io.stdout(
    [
      event.fallbackReason === undefined
        ? `event: ${event.used}`
        : `event: ${event.used} (software fallback: ${event.requested} is unusable here, ${event.fallbackReason})`,
      `recorded: ${result.recordedEvents.join(", ")}; ${result.recordSummary}`,
      `top entries (perf report --stdio --no-children, in the guest):`,
      ...result.topEntries.map((line) => `  ${line}`),
      `files: ${result.files.map((f) => join(result.outDir, f)).join(", ")}`,
      `read it again: perf report -i ${join(result.outDir, "perf.data")} --kallsyms ${join(result.outDir, "kallsyms")}`,
      "",
    ].join("\n"),
  );
}
