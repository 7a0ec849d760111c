/**
 * Where QEMU's memory is: resident KiB on each host NUMA node, summed over the mappings of
 * /proc/PID/numa_maps (`N<node>=<pages>` counts pages of the mapping's `kernelpagesize_kB`).
 * Pure; machine/host/qemu-interference.ts reads the file after each perf command.
 */
export function parseNumaMaps(text: string): Record<string, number> {
  const kib: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const pageKiB = Number(/\bkernelpagesize_kB=(\d+)/.exec(line)?.[1] ?? 4);
    for (const match of line.matchAll(/\bN(\d+)=(\d+)/g)) {
      const node = match[1] ?? "";
      kib[node] = (kib[node] ?? 0) + Number(match[2]) * pageKiB;
    }
  }
  return kib;
}

/** Pure: the placement in words: "node 0: 1.9 GiB, node 1: 12 MiB". */
export function describeNumaPlacement(kib: Readonly<Record<string, number>>): string {
  const size = (k: number): string =>
    k >= 1024 * 1024 ? `${(k / 1024 / 1024).toFixed(1)} GiB` : `${Math.round(k / 1024)} MiB`;
  const nodes = Object.keys(kib).sort((a, b) => Number(a) - Number(b));
  return nodes.length === 0
    ? "no resident memory"
    : nodes.map((n) => `node ${n}: ${size(kib[n] ?? 0)}`).join(", ");
}
