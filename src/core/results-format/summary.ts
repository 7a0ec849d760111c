import { formatQuantity } from "../compare/format.js";
import type { Sample } from "./sample.js";

export { formatQuantity } from "../compare/format.js";

export interface EventSummary {
  readonly event: string;
  readonly unit: string;
  /** Counted samples. */
  readonly n: number;
  readonly mean: number | undefined;
  /** Sample standard deviation (n - 1 in the denominator); undefined below 2 samples. */
  readonly sd: number | undefined;
  /** Samples where perf printed <not supported> / <not counted> instead of a number. */
  readonly notSupported: number;
  readonly notCounted: number;
}

/** Pure: per-event mean ± sd over the non-warm-up samples, in first-seen event order. */
export function summarizeSamples(samples: readonly Sample[]): EventSummary[] {
  const order: string[] = [];
  const byEvent = new Map<
    string,
    { unit: string; values: number[]; notSupported: number; notCounted: number }
  >();
  for (const sample of samples) {
    if (sample.warmup) continue;
    for (const [event, counter] of Object.entries(sample.counters)) {
      let entry = byEvent.get(event);
      if (entry === undefined) {
        entry = { unit: counter.unit, values: [], notSupported: 0, notCounted: 0 };
        byEvent.set(event, entry);
        order.push(event);
      }
      if (counter.status === "counted" && counter.value !== null) entry.values.push(counter.value);
      else if (counter.status === "not-supported") entry.notSupported += 1;
      else entry.notCounted += 1;
    }
  }
  return order.map((event) => {
    const entry = byEvent.get(event)!;
    const n = entry.values.length;
    const mean = n === 0 ? undefined : entry.values.reduce((a, b) => a + b, 0) / n;
    const sd =
      n < 2 || mean === undefined
        ? undefined
        : Math.sqrt(entry.values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
    return {
      event,
      unit: entry.unit,
      n,
      mean,
      sd,
      notSupported: entry.notSupported,
      notCounted: entry.notCounted,
    };
  });
}

/** The terminal table: mean ± sd per event, and plain words for events with no count. */
export function renderSummary(
  summaries: readonly EventSummary[],
  context: { accelerator: string },
): string {
  const width = Math.max(5, ...summaries.map((s) => s.event.length));
  const lines = [`  ${"event".padEnd(width)}  mean ± sd                  n`];
  for (const s of summaries) {
    let cell: string;
    if (s.mean !== undefined) {
      const sd = s.sd === undefined ? "n/a" : formatQuantity(s.sd, s.unit);
      cell = `${formatQuantity(s.mean, s.unit)} ± ${sd}`.padEnd(25) + `  ${s.n}`;
      if (s.notSupported + s.notCounted > 0)
        cell += ` (${s.notSupported + s.notCounted} iterations without a count)`;
    } else if (s.notSupported > 0) {
      const why =
        context.accelerator === "tcg"
          ? ": TCG emulates no hardware PMU"
          : ": the guest has no PMU access for it";
      cell = `not supported${why} (perf printed <not supported>)`;
    } else {
      cell = "not counted (perf printed <not counted>)";
    }
    lines.push(`  ${s.event.padEnd(width)}  ${cell}`);
  }
  return lines.join("\n");
}
