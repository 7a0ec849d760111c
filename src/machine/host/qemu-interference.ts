import { readdir, readFile } from "node:fs/promises";
import {
  HOST_FILES,
  parseCpuPressure,
  parseCpuTicks,
  parseProcsRunning,
} from "../../core/host/host-state.js";
import { parseNumaMaps } from "../../core/host/numa-placement.js";
import { parseTaskStatTicks, type HostSample } from "../../core/host/interference.js";
import { readHostFiles } from "./read-host-state.js";

/** CPU ticks of every thread of process `pid` now; a thread that exits meanwhile is skipped. */
async function threadTicks(pid: number): Promise<Map<number, number>> {
  const tids = (await readdir(`/proc/${pid}/task`).catch(() => [] as string[])).map(Number);
  const ticks = new Map<number, number>();
  await Promise.all(
    tids.map(async (tid) => {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, "utf8").catch(() => undefined);
      const value = stat === undefined ? undefined : parseTaskStatTicks(stat);
      if (value !== undefined) ticks.set(tid, value);
    }),
  );
  return ticks;
}

/** QEMU's resident memory by host NUMA node; undefined when numa_maps cannot be read. */
async function numaKiB(pid: number): Promise<Record<string, number> | undefined> {
  const text = await readFile(`/proc/${pid}/numa_maps`, "utf8").catch(() => undefined);
  return text === undefined ? undefined : parseNumaMaps(text);
}

/**
 * One reading of QEMU's threads and the host's CPU contention (before or after a perf command);
 * with `numa`, also where QEMU's memory is (read after the command only: it walks the mappings).
 */
export async function sampleQemuHost(
  pid: number,
  vcpuThreadIds: readonly number[],
  options: { readonly numa?: boolean; readonly root?: string } = {},
): Promise<HostSample> {
  const [ticks, files, numa] = await Promise.all([
    threadTicks(pid),
    readHostFiles(options.root ?? "/", [HOST_FILES.stat, HOST_FILES.cpuPressure]),
    options.numa === true ? numaKiB(pid) : undefined,
  ]);
  const pressure = parseCpuPressure(files.get(HOST_FILES.cpuPressure));
  return {
    threadTicks: ticks,
    vcpuThreadIds,
    cpuPressureTotalUs: pressure?.totalUs ?? null,
    cpuPressureAvg10: pressure?.avg10 ?? null,
    procsRunning: parseProcsRunning(files.get(HOST_FILES.stat)),
    cpuTicks: parseCpuTicks(files.get(HOST_FILES.stat)),
    ...(numa === undefined ? {} : { numaKiB: numa }),
  };
}
