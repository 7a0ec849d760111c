import type { HostState } from "../host/host-state.js";
import type { Sample } from "../results-format/sample.js";
import type { BootValues } from "../stats/boot-level.js";

/** What compare needs of one cell: its labels, samples and the environment it ran in. */
export interface CellData {
  readonly source: string;
  readonly id: string;
  readonly kernel: string;
  readonly config: string;
  readonly workload: string;
  readonly samples: readonly Sample[];
  readonly environment: {
    readonly accelerator: string;
    readonly qemuVersion: string;
    readonly cpuModel: string;
  };
  /** Bits requested but not negotiated by the guest driver, when known. */
  readonly unnegotiatedBits: readonly number[];
  /** The host's settings when the run started (runs of this version). */
  readonly hostState?: HostState | undefined;
}

export function cellLabel(cell: Pick<CellData, "kernel" | "config">): string {
  return `${cell.kernel}/${cell.config}`;
}

/** The boot a sample belongs to: recorded by `run` and `import`; one boot for the first version's. */
function bootOf(sample: Sample): string {
  return sample.boot ?? (sample.round === undefined ? "boot-1" : `round-${sample.round}`);
}

/** A cell's counted (non-warm-up) values of one metric, in sample order. */
export function countedValues(cell: CellData, metric: string): number[] {
  return cell.samples
    .filter((s) => !s.warmup)
    .map((s) => s.counters[metric])
    .filter((c) => c?.status === "counted" && c.value !== null)
    .map((c) => c?.value as number);
}

/** A cell's counted values of one metric, grouped by the boot that measured them. */
export function bootValues(cell: CellData, metric: string): BootValues[] {
  const byBoot = new Map<string, number[]>();
  for (const sample of cell.samples) {
    if (sample.warmup) continue;
    const counter = sample.counters[metric];
    if (counter?.status !== "counted" || counter.value === null) continue;
    const boot = bootOf(sample);
    byBoot.set(boot, [...(byBoot.get(boot) ?? []), counter.value]);
  }
  return [...byBoot].map(([boot, values]) => ({ boot, values }));
}

export interface MetricInfo {
  readonly unit: string;
  readonly statuses: ReadonlySet<string>;
  /** Counted iterations that perf could not count for this metric (<not counted>, <not supported>). */
  readonly missing: number;
  readonly iterations: number;
}

/** Every metric a cell's counted iterations carry, with how often perf had no count for it. */
export function metricsOf(cell: CellData): Map<string, MetricInfo> {
  const metrics = new Map<
    string,
    { unit: string; statuses: Set<string>; missing: number; iterations: number }
  >();
  for (const sample of cell.samples) {
    if (sample.warmup) continue;
    for (const [metric, counter] of Object.entries(sample.counters)) {
      const entry = metrics.get(metric) ?? {
        unit: counter.unit,
        statuses: new Set<string>(),
        missing: 0,
        iterations: 0,
      };
      entry.statuses.add(counter.status);
      entry.iterations += 1;
      if (counter.status !== "counted" || counter.value === null) entry.missing += 1;
      metrics.set(metric, entry);
    }
  }
  return metrics;
}

/** Outlying iterations of one cell's metric, as "boot B iteration I (value V, modified z Z)". */
export function describeIteration(cell: CellData, metric: string, index: number): string {
  const counted = cell.samples.filter(
    (s) =>
      !s.warmup && s.counters[metric]?.status === "counted" && s.counters[metric]?.value !== null,
  );
  const sample = counted[index];
  return sample === undefined
    ? `value ${index + 1}`
    : `iteration ${sample.iteration} (boot ${bootOf(sample)})`;
}
