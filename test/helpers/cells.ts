import type { CellData } from "../../src/core/compare/cell-metrics.js";
import type { Sample, SampleCounter } from "../../src/core/results-format/sample.js";

/** A metric's value in one iteration: a number is counted; a string is perf's word for "no count". */
export type Value = number | "not-counted" | "not-supported";

/**
 * A cell as compare sees it, from values per boot: `boots[b][i]` is metric's value in iteration
 * i of boot b. Extra metrics can be given per iteration with the same shape.
 */
export function cellOf(
  kernel: string,
  boots: readonly (readonly Value[])[],
  options: {
    metric?: string;
    unit?: string;
    config?: string;
    extra?: Record<string, readonly (readonly Value[])[]>;
  } = {},
): CellData {
  const metric = options.metric ?? "task-clock";
  const unit = options.unit ?? "msec";
  const config = options.config ?? "bits-5";
  const counter = (value: Value | undefined): SampleCounter =>
    typeof value === "number"
      ? { status: "counted", value, unit }
      : { status: value ?? "not-counted", value: null, unit };
  let iteration = 0;
  const samples: Sample[] = boots.flatMap((values, b) =>
    values.map((value, i) => {
      iteration += 1;
      const counters: Record<string, SampleCounter> = { [metric]: counter(value) };
      for (const [name, extra] of Object.entries(options.extra ?? {}))
        counters[name] = counter(extra[b]?.[i]);
      return {
        schema: 1 as const,
        cell: `${kernel}__${config}__w`,
        kernel,
        config,
        workload: "w",
        iteration,
        warmup: false,
        startedAt: "",
        wallMs: 0,
        settle: { method: "none" as const },
        counters,
        round: b + 1,
        boot: `${kernel}__${config}__r${b + 1}`,
      };
    }),
  );
  return {
    source: "test",
    id: `${kernel}__${config}__w`,
    kernel,
    config,
    workload: "w",
    samples,
    environment: { accelerator: "tcg", qemuVersion: "7.2.22", cpuModel: "test" },
    unnegotiatedBits: [],
  };
}

/** k boots of one iteration each. */
export function oneEach(values: readonly Value[]): Value[][] {
  return values.map((v) => [v]);
}
