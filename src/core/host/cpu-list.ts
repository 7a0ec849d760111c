/**
 * The kernel's CPU list format (`cpulist_parse`, as in /sys/devices/system/cpu/online, taskset -c
 * and Cpus_allowed_list): comma-separated numbers and ranges, e.g. "0-3,8,10-11".
 */

export type CpuListParse =
  | { readonly ok: true; readonly cpus: number[]; readonly inOrder: number[] }
  | { readonly ok: false; readonly problem: string };

/**
 * Pure: a CPU list as sorted CPU numbers (and in the order written), or why it is not one (a malformed part, a range that
 * runs backwards, a CPU given twice). Empty text is the empty list.
 */
export function readCpuList(text: string): CpuListParse {
  const trimmed = text.trim();
  if (trimmed === "") return { ok: true, cpus: [], inOrder: [] };
  const cpus = new Set<number>();
  for (const part of trimmed.split(",")) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (match?.[1] === undefined)
      return { ok: false, problem: `'${part.trim()}' is not a CPU number or range (N or N-M)` };
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) return { ok: false, problem: `range ${first}-${last} runs backwards` };
    if (last - first > 65_536) return { ok: false, problem: `range ${first}-${last} is too long` };
    for (let cpu = first; cpu <= last; cpu++) {
      if (cpus.has(cpu)) return { ok: false, problem: `CPU ${cpu} is listed twice` };
      cpus.add(cpu);
    }
  }
  return { ok: true, cpus: [...cpus].sort((a, b) => a - b), inOrder: [...cpus] };
}

/** Pure: a CPU list as sorted CPU numbers; undefined when it is not one. Empty text is []. */
export function parseCpuList(text: string): number[] | undefined {
  const parsed = readCpuList(text);
  return parsed.ok ? parsed.cpus : undefined;
}

/** Pure: CPU numbers in the kernel's compact form ("0-3,8"); "" for none. */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    const first = sorted[i] as number;
    let last = first;
    while (sorted[i + 1] === last + 1) {
      last += 1;
      i += 1;
    }
    parts.push(first === last ? String(first) : `${first}-${last}`);
    i += 1;
  }
  return parts.join(",");
}

/** Pure: CPUs in the order given: compact when ascending ("2-3"), else as written ("3,2"). */
export function formatCpuOrder(cpus: readonly number[]): string {
  const ascending = cpus.every((cpu, i) => i === 0 || cpu > (cpus[i - 1] as number));
  return ascending ? formatCpuList(cpus) : cpus.join(",");
}
