import { UsageError } from "../errors.js";
import { describeHostDifference, hostSettingDifferences } from "../host/host-state.js";
import { interferenceOutliers } from "../host/interference.js";
import { environmentDifferences } from "../results-format/compatible.js";
import { holmAdjust } from "../stats/two-sample.js";
import { bootValues, cellLabel, metricsOf, type CellData } from "./cell-metrics.js";
import { compareMetric, type MetricDraft } from "./metric-comparison.js";
import { DEFAULT_MIN_EFFECT_PCT, decideVerdict, type Direction, type Verdict } from "./verdict.js";

export type { CellData } from "./cell-metrics.js";
export { countedValues } from "./cell-metrics.js";
export type { SideSummary } from "./metric-comparison.js";
export type { Direction, Verdict } from "./verdict.js";

export interface BaselineSelector {
  readonly key: "kernel" | "config";
  readonly value: string;
}

/** How every comparison was made, stated once in every format. */
export const METHOD =
  "boot means (the boot is the unit): delta = ratio of the means of boot means, 95 % CI on the log scale (delta method, Welch degrees of freedom); p-values: Welch on the log ratio, Mann-Whitney U on boot means";

export interface Comparison extends Omit<MetricDraft, "test" | "insufficient"> {
  readonly workload: string;
  /** "ratio", "difference" (a mean of 0: no percentage), or null when there was no test. */
  readonly method: "ratio" | "difference" | null;
  readonly deltaPct: number | null;
  /** 95 % CI of deltaPct (percent); of the difference, in the metric's unit, for method "difference". */
  readonly deltaCi95: readonly [number, number] | null;
  /** mean(candidate) - mean(baseline), in the metric's unit. */
  readonly difference: number;
  readonly pWelch: number | null;
  readonly pAdjusted: number | null;
  readonly verdict: Verdict;
  readonly reason: string;
  /** Inconclusive: about this many boots per side would decide it (at this noise). */
  readonly bootsNeeded: number | null;
  /** Smallest delta an A/A calibration of this workload and metric could detect, if one exists. */
  readonly noiseFloorPct: number | null;
}

export interface UnsupportedMetric {
  readonly label: string;
  readonly workload: string;
  readonly metric: string;
  readonly reason: string;
}

export interface ComparisonReport {
  readonly baseline: BaselineSelector;
  readonly alpha: number;
  readonly minEffectPct: number;
  readonly correction: "holm";
  readonly method: string;
  readonly comparisons: readonly Comparison[];
  readonly unsupported: readonly UnsupportedMetric[];
  /** Metrics measured on one side of a pair only: not compared, and said so. */
  readonly dropped: readonly string[];
  /** Per cell and metric, every counted value with its boot: for plots. */
  readonly series: readonly {
    label: string;
    workload: string;
    metric: string;
    unit: string;
    values: number[];
    boots: string[];
  }[];
  readonly environment: Readonly<Record<string, CellData["environment"]>>;
}

export interface CompareOptions {
  readonly baseline?: BaselineSelector | undefined;
  readonly alpha?: number;
  readonly minEffectPct?: number;
  readonly directions?: ReadonlyMap<string, Direction>;
  /** Compare across accelerators anyway (flagged). */
  readonly force?: boolean;
  /** Noise floors from A/A calibrations (calibration.json). */
  readonly noiseFloors?: readonly { workload: string; metric: string; minDetectablePct: number }[];
}

export function parseBaselineSelector(value: string): BaselineSelector {
  const match = /^(kernel|config)=(.+)$/.exec(value.trim());
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new UsageError(`malformed --baseline '${value}'`, {
      hint: "write --baseline kernel=NAME or --baseline config=NAME",
    });
  }
  return { key: match[1] as "kernel" | "config", value: match[2] };
}

/** Lower is better for time, counts of misses and faults, instructions; say otherwise per metric. */
export function defaultDirection(metric: string): Direction {
  return /^(ops|throughput|bandwidth)/.test(metric) ? "higher" : "lower";
}

function nothingToCompare(): UsageError {
  return new UsageError("nothing to compare: no cells with samples", {
    hint: "pass results directories written by run or import",
  });
}

function defaultSelector(cells: readonly CellData[]): BaselineSelector {
  const first = cells[0];
  if (first === undefined) throw nothingToCompare();
  return new Set(cells.map((c) => c.kernel)).size > 1
    ? { key: "kernel", value: first.kernel }
    : { key: "config", value: first.config };
}

/** Every counted series (for plots) and every metric perf could not count at all (said in words). */
function seriesAndUnsupported(cells: readonly CellData[]) {
  const unsupported: UnsupportedMetric[] = [];
  const series: ComparisonReport["series"][number][] = [];
  for (const cell of cells) {
    for (const [metric, info] of metricsOf(cell)) {
      const groups = bootValues(cell, metric);
      if (groups.length > 0) {
        series.push({
          label: cellLabel(cell),
          workload: cell.workload,
          metric,
          unit: info.unit,
          values: groups.flatMap((g) => g.values),
          boots: groups.flatMap((g) => g.values.map(() => g.boot)),
        });
      } else {
        const reason = info.statuses.has("not-supported")
          ? "not supported (perf printed <not supported>)"
          : "not counted (perf printed <not counted>)";
        unsupported.push({ label: cellLabel(cell), workload: cell.workload, metric, reason });
      }
    }
  }
  return { series, unsupported };
}

/** The flags a pair carries: environments that differ (accelerators refused unless forced), bits not negotiated. */
function pairFlags(baseline: CellData, candidate: CellData, force: boolean): string[] {
  const differences = environmentDifferences(baseline.environment, candidate.environment);
  if (differences.some((d) => d.refuse) && !force) {
    throw new UsageError(
      `refusing to compare ${cellLabel(candidate)} (${candidate.environment.accelerator}) with ${cellLabel(baseline)} (${baseline.environment.accelerator}): different accelerators`,
      {
        hint: "compare runs made under the same accelerator, or pass --force to compare anyway (flagged)",
      },
    );
  }
  const flags = [
    ...differences.map((d) => `${d.key} differs: ${d.a} vs ${d.b}`),
    ...hostSettingDifferences(baseline.hostState, candidate.hostState).map(describeHostDifference),
    ...interferenceOutliers(baseline.samples, cellLabel(baseline)),
    ...interferenceOutliers(candidate.samples, cellLabel(candidate)),
  ];
  for (const cell of [baseline, candidate]) {
    for (const bit of cell.unnegotiatedBits)
      flags.push(
        `bit ${bit} requested and offered, but kernel ${cell.kernel} did not negotiate it`,
      );
    const stall = stallFlag(cell);
    if (stall !== undefined) flags.push(stall);
  }
  return flags;
}

/** Iterations during which QEMU stopped answering (the watchdog's record): their timing is suspect. */
function stallFlag(cell: CellData): string | undefined {
  const stalled = cell.samples.filter((s) => !s.warmup && s.telemetry?.stall !== undefined);
  if (stalled.length === 0) return undefined;
  const longestS = Math.max(...stalled.map((s) => s.telemetry?.stall?.longestMs ?? 0)) / 1000;
  return `${cellLabel(cell)} (${cell.workload}): ${stalled.length} iteration(s) stalled (QEMU unresponsive up to ${longestS.toFixed(0)} s); their times include the stall`;
}

interface Pairing {
  readonly drafts: (MetricDraft & { workload: string; pairFlags: string[] })[];
  readonly dropped: string[];
  readonly unpaired: number;
}

/** Every candidate cell against the baseline cell that differs only in the selected factor. */
function pairAndCompare(
  usable: readonly CellData[],
  selector: BaselineSelector,
  options: CompareOptions,
  alpha: number,
): Pairing {
  const isBaseline = (c: CellData): boolean =>
    (selector.key === "kernel" ? c.kernel : c.config) === selector.value;
  const baselines = usable.filter(isBaseline);
  const drafts: Pairing["drafts"] = [];
  const dropped: string[] = [];
  let unpaired = 0;
  for (const candidate of usable.filter((c) => !isBaseline(c))) {
    const baseline = baselines.find(
      (b) =>
        b.workload === candidate.workload &&
        (selector.key === "kernel" ? b.config === candidate.config : b.kernel === candidate.kernel),
    );
    if (baseline === undefined) {
      unpaired += 1;
      continue;
    }
    const flags = pairFlags(baseline, candidate, options.force === true);
    const [aInfo, bInfo] = [metricsOf(baseline), metricsOf(candidate)];
    for (const metric of new Set([...aInfo.keys(), ...bInfo.keys()])) {
      const [a, b] = [aInfo.get(metric), bInfo.get(metric)];
      const aCounted = a !== undefined && a.missing < a.iterations;
      const bCounted = b !== undefined && b.missing < b.iterations;
      if (!aCounted || !bCounted) {
        // Both sides without a count is "unsupported" (listed elsewhere); one side is a drop.
        if (aCounted || bCounted)
          dropped.push(
            `${metric} (${candidate.workload}) was counted on ${aCounted ? cellLabel(baseline) : cellLabel(candidate)} only, not on ${aCounted ? cellLabel(candidate) : cellLabel(baseline)}: not compared`,
          );
        continue;
      }
      const direction = options.directions?.get(metric) ?? defaultDirection(metric);
      const draft = compareMetric(baseline, candidate, metric, {
        unit: a.unit,
        direction,
        alpha,
        baselineInfo: a,
        candidateInfo: b,
      });
      drafts.push({ ...draft, workload: candidate.workload, pairFlags: flags });
    }
  }
  return { drafts, dropped, unpaired };
}

/**
 * Pure: pairs every candidate cell with the baseline cell that differs only in the selected
 * factor and compares each metric on boot means; p-values are Holm-adjusted across all the
 * tested comparisons of the report, and each gets a verdict with its reason.
 */
export function buildComparison(
  cells: readonly CellData[],
  options: CompareOptions = {},
): ComparisonReport {
  const usable = cells.filter((c) => c.samples.some((s) => !s.warmup));
  if (usable.length === 0) throw nothingToCompare();
  const selector = options.baseline ?? defaultSelector(usable);
  const alpha = options.alpha ?? 0.05;
  const minEffectPct = options.minEffectPct ?? DEFAULT_MIN_EFFECT_PCT;
  if (!usable.some((c) => (selector.key === "kernel" ? c.kernel : c.config) === selector.value)) {
    const names = [
      ...new Set(usable.map((c) => (selector.key === "kernel" ? c.kernel : c.config))),
    ];
    throw new UsageError(`--baseline ${selector.key}=${selector.value} matches no cell`, {
      hint: `${selector.key}s present: ${names.join(", ")}`,
    });
  }
  const { drafts, dropped, unpaired } = pairAndCompare(usable, selector, options, alpha);
  if (drafts.length === 0) {
    throw new UsageError(
      unpaired > 0
        ? `nothing to compare: ${unpaired} candidate cell(s) have no baseline cell with the same ${selector.key === "kernel" ? "config" : "kernel"} and workload`
        : "nothing to compare: every cell is a baseline cell, or no metric was counted on both sides",
      {
        hint: "pass results with at least two kernels or configs on the same workload, or choose --baseline",
      },
    );
  }
  const tested = drafts.filter((d) => d.test !== undefined);
  const adjusted = holmAdjust(tested.map((d) => d.test?.p ?? 1));
  const comparisons = drafts.map((draft) => {
    const i = tested.indexOf(draft);
    return finish(draft, i < 0 ? null : (adjusted[i] ?? null), { alpha, minEffectPct, options });
  });
  const { series, unsupported } = seriesAndUnsupported(usable);
  const environment: Record<string, CellData["environment"]> = {};
  for (const cell of usable) environment[cellLabel(cell)] = cell.environment;
  return {
    baseline: selector,
    alpha,
    minEffectPct,
    correction: "holm",
    method: METHOD,
    comparisons,
    unsupported,
    dropped,
    series,
    environment,
  };
}

function finish(
  draft: Pairing["drafts"][number],
  pAdjusted: number | null,
  context: { alpha: number; minEffectPct: number; options: CompareOptions },
): Comparison {
  const { test, insufficient, pairFlags: flags, ...rest } = draft;
  const noiseFloorPct =
    context.options.noiseFloors?.find(
      (f) => f.workload === draft.workload && f.metric === draft.metric,
    )?.minDetectablePct ?? null;
  const common = { ...rest, flags: [...flags, ...rest.flags], noiseFloorPct };
  if (test === undefined || pAdjusted === null) {
    return {
      ...common,
      method: null,
      deltaPct: null,
      deltaCi95: null,
      difference: draft.candidate.mean - draft.baseline.mean,
      pWelch: null,
      pAdjusted: null,
      verdict: "insufficient data",
      reason: insufficient ?? "no test",
      bootsNeeded: null,
    };
  }
  const decided = decideVerdict(
    {
      direction: draft.direction,
      deltaPct: test.deltaPct,
      ci95: test.ci95,
      pAdjusted,
      pMannWhitney: draft.pMannWhitney ?? 1,
      mannWhitneyAgrees: draft.mannWhitneyAgrees,
      exact: test.exact,
      boots: Math.min(draft.baseline.boots, draft.candidate.boots),
    },
    context.minEffectPct,
    context.alpha,
  );
  return {
    ...common,
    method: test.method,
    deltaPct: test.deltaPct,
    deltaCi95: test.ci95,
    difference: test.difference,
    pWelch: test.p,
    pAdjusted,
    ...decided,
  };
}
