import { UsageError } from "../errors.js";
import { environmentDifferences } from "../results-format/compatible.js";
import type { Sample } from "../results-format/sample.js";
import { describe as describeValues, type Descriptive } from "../stats/descriptive.js";
import { holmAdjust, mannWhitneyU, welchTTest } from "../stats/two-sample.js";

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
}

export type Direction = "lower" | "higher";
export type Verdict = "improvement" | "regression" | "no significant change" | "insufficient data";

export interface BaselineSelector {
  readonly key: "kernel" | "config";
  readonly value: string;
}

export interface SideSummary {
  readonly label: string;
  readonly n: number;
  readonly mean: number;
  readonly sd: number;
  readonly ci95: readonly [number, number];
  readonly cov: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface Comparison {
  readonly workload: string;
  readonly metric: string;
  readonly unit: string;
  readonly direction: Direction;
  readonly baseline: SideSummary;
  readonly candidate: SideSummary;
  readonly deltaPct: number;
  readonly deltaCi95: readonly [number, number];
  readonly pWelch: number;
  readonly pMannWhitney: number;
  readonly mannWhitneyMethod: "exact" | "asymptotic";
  readonly pAdjusted: number;
  readonly verdict: Verdict;
  readonly flags: readonly string[];
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
  readonly correction: "holm";
  readonly comparisons: readonly Comparison[];
  readonly unsupported: readonly UnsupportedMetric[];
  /** Per cell and metric, every counted value: for plots. */
  readonly series: readonly {
    label: string;
    workload: string;
    metric: string;
    unit: string;
    values: number[];
  }[];
  readonly environment: Readonly<Record<string, CellData["environment"]>>;
}

export interface CompareOptions {
  readonly baseline?: BaselineSelector | undefined;
  readonly alpha?: number;
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

function cellLabel(cell: CellData): string {
  return `${cell.kernel}/${cell.config}`;
}

/** A cell's counted (non-warm-up) values of one metric. */
export function countedValues(cell: CellData, metric: string): number[] {
  return cell.samples
    .filter((s) => !s.warmup)
    .map((s) => s.counters[metric])
    .filter((c) => c?.status === "counted" && c.value !== null)
    .map((c) => c?.value as number);
}

function metricsOf(cell: CellData): Map<string, { unit: string; statuses: Set<string> }> {
  const metrics = new Map<string, { unit: string; statuses: Set<string> }>();
  for (const sample of cell.samples) {
    if (sample.warmup) continue;
    for (const [metric, counter] of Object.entries(sample.counters)) {
      const entry = metrics.get(metric) ?? { unit: counter.unit, statuses: new Set<string>() };
      entry.statuses.add(counter.status);
      metrics.set(metric, entry);
    }
  }
  return metrics;
}

function summarizeSide(label: string, d: Descriptive): SideSummary {
  return {
    label,
    n: d.n,
    mean: d.mean,
    sd: d.sd,
    ci95: d.ci95,
    cov: d.cov,
    median: d.median,
    min: d.min,
    max: d.max,
  };
}

function defaultSelector(cells: readonly CellData[]): BaselineSelector {
  const kernels = [...new Set(cells.map((c) => c.kernel))];
  const first = cells[0];
  if (first === undefined)
    throw new UsageError("nothing to compare: no cells with samples", {
      hint: "pass results directories written by run or import",
    });
  return kernels.length > 1
    ? { key: "kernel", value: first.kernel }
    : { key: "config", value: first.config };
}

/**
 * Pure: pairs every candidate cell with the baseline cell that differs only in the selected
 * factor, and compares each metric (Welch's t and Mann-Whitney U, Holm-adjusted across all the
 * comparisons in the report). Metrics perf could not count are listed, never compared as zeros.
 */
export function buildComparison(
  cells: readonly CellData[],
  options: CompareOptions = {},
): ComparisonReport {
  const usable = cells.filter((c) => c.samples.some((s) => !s.warmup));
  if (usable.length === 0)
    throw new UsageError("nothing to compare: no cells with samples", {
      hint: "pass results directories written by run or import",
    });
  const selector = options.baseline ?? defaultSelector(usable);
  const alpha = options.alpha ?? 0.05;
  const isBaseline = (c: CellData): boolean =>
    (selector.key === "kernel" ? c.kernel : c.config) === selector.value;
  const baselines = usable.filter(isBaseline);
  if (baselines.length === 0) {
    const names = [
      ...new Set(usable.map((c) => (selector.key === "kernel" ? c.kernel : c.config))),
    ];
    throw new UsageError(`--baseline ${selector.key}=${selector.value} matches no cell`, {
      hint: `${selector.key}s present: ${names.join(", ")}`,
    });
  }
  const unsupported: UnsupportedMetric[] = [];
  const series: ComparisonReport["series"][number][] = [];
  for (const cell of usable) {
    for (const [metric, info] of metricsOf(cell)) {
      const values = countedValues(cell, metric);
      if (values.length > 0)
        series.push({
          label: cellLabel(cell),
          workload: cell.workload,
          metric,
          unit: info.unit,
          values,
        });
      else {
        const reason = info.statuses.has("not-supported")
          ? "not supported (perf printed <not supported>)"
          : "not counted (perf printed <not counted>)";
        unsupported.push({ label: cellLabel(cell), workload: cell.workload, metric, reason });
      }
    }
  }

  interface Draft extends Omit<Comparison, "pAdjusted" | "verdict"> {
    readonly testable: boolean;
  }
  const drafts: Draft[] = [];
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
    const flags: string[] = [];
    const envDiffs = environmentDifferences(baseline.environment, candidate.environment);
    if (envDiffs.some((d) => d.refuse) && options.force !== true) {
      throw new UsageError(
        `refusing to compare ${cellLabel(candidate)} (${candidate.environment.accelerator}) with ${cellLabel(baseline)} (${baseline.environment.accelerator}): different accelerators`,
        {
          hint: "compare runs made under the same accelerator, or pass --force to compare anyway (flagged)",
        },
      );
    }
    for (const d of envDiffs) flags.push(`${d.key} differs: ${d.a} vs ${d.b}`);
    for (const cell of [baseline, candidate]) {
      for (const bit of cell.unnegotiatedBits) {
        flags.push(
          `bit ${bit} requested and offered, but kernel ${cell.kernel} did not negotiate it`,
        );
      }
    }
    for (const [metric, info] of metricsOf(candidate)) {
      const a = countedValues(baseline, metric);
      const b = countedValues(candidate, metric);
      if (a.length === 0 || b.length === 0) continue;
      const direction = options.directions?.get(metric) ?? defaultDirection(metric);
      const da = describeValues(a);
      const db = describeValues(b);
      const testable = a.length >= 2 && b.length >= 2;
      const welch = testable ? welchTTest(a, b) : undefined;
      const mw = testable ? mannWhitneyU(a, b) : undefined;
      const diff = db.mean - da.mean;
      drafts.push({
        workload: candidate.workload,
        metric,
        unit: info.unit,
        direction,
        baseline: summarizeSide(cellLabel(baseline), da),
        candidate: summarizeSide(cellLabel(candidate), db),
        deltaPct: (100 * diff) / da.mean,
        deltaCi95:
          welch === undefined
            ? [NaN, NaN]
            : [(100 * welch.diffCi95[0]) / da.mean, (100 * welch.diffCi95[1]) / da.mean],
        pWelch: welch?.p ?? NaN,
        pMannWhitney: mw?.p ?? NaN,
        mannWhitneyMethod: mw?.method ?? "exact",
        flags,
        testable,
        noiseFloorPct:
          options.noiseFloors?.find((f) => f.workload === candidate.workload && f.metric === metric)
            ?.minDetectablePct ?? null,
      });
    }
  }
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
  const testable = drafts.filter((d) => d.testable);
  const adjusted = holmAdjust(testable.map((d) => d.pWelch));
  const comparisons = drafts.map(({ testable: isTestable, ...draft }): Comparison => {
    if (!isTestable) return { ...draft, pAdjusted: NaN, verdict: "insufficient data" };
    const pAdjusted =
      adjusted[
        testable.findIndex(
          (t) =>
            t.workload === draft.workload &&
            t.metric === draft.metric &&
            t.candidate === draft.candidate,
        )
      ] ?? NaN;
    const better = draft.direction === "lower" ? draft.deltaPct < 0 : draft.deltaPct > 0;
    const verdict: Verdict =
      pAdjusted < alpha ? (better ? "improvement" : "regression") : "no significant change";
    return { ...draft, pAdjusted, verdict };
  });
  const environment: Record<string, CellData["environment"]> = {};
  for (const cell of usable) environment[cellLabel(cell)] = cell.environment;
  return {
    baseline: selector,
    alpha,
    correction: "holm",
    comparisons,
    unsupported,
    series,
    environment,
  };
}

export interface GateOptions {
  /** Fail when any significant regression is worse than this many percent. */
  readonly failOnRegressionPct?: number | undefined;
  /** Fail unless each named metric significantly improves by at least this many percent. */
  readonly expectImprovement?: readonly { metric: string; pct: number }[];
}

export interface GateResult {
  readonly passed: boolean;
  /** Per comparison index: why it failed a gate, if it did. */
  readonly failures: ReadonlyMap<number, string>;
}

export function parseExpectImprovement(value: string): { metric: string; pct: number } {
  const match = /^([A-Za-z0-9_.:/-]+):(\d+(?:\.\d+)?)%?$/.exec(value.trim());
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new UsageError(`malformed --expect-improvement '${value}'`, {
      hint: "write METRIC:PCT, e.g. task-clock:50",
    });
  }
  return { metric: match[1], pct: Number(match[2]) };
}

/** Pure: applies the CI gates to a report. */
export function applyGates(report: ComparisonReport, gates: GateOptions): GateResult {
  const failures = new Map<number, string>();
  report.comparisons.forEach((c, index) => {
    const worsePct = c.direction === "lower" ? c.deltaPct : -c.deltaPct;
    if (
      gates.failOnRegressionPct !== undefined &&
      c.verdict === "regression" &&
      worsePct > gates.failOnRegressionPct
    ) {
      failures.set(
        index,
        `${c.metric} regressed by ${worsePct.toFixed(1)} % (significant), more than the allowed ${gates.failOnRegressionPct} %`,
      );
    }
    for (const expected of gates.expectImprovement ?? []) {
      if (expected.metric !== c.metric) continue;
      const betterPct = -worsePct;
      if (c.verdict !== "improvement" || betterPct < expected.pct) {
        failures.set(
          index,
          `${c.metric} was expected to improve by at least ${expected.pct} %, got ${betterPct.toFixed(1)} % (${c.verdict}, p(Holm) ${formatP(c.pAdjusted)})`,
        );
      }
    }
  });
  for (const expected of gates.expectImprovement ?? []) {
    if (!report.comparisons.some((c) => c.metric === expected.metric)) {
      throw new UsageError(
        `--expect-improvement names ${expected.metric}, which no comparison has`,
        {
          hint: `metrics compared: ${[...new Set(report.comparisons.map((c) => c.metric))].join(", ")}`,
        },
      );
    }
  }
  return { passed: failures.size === 0, failures };
}

export function formatP(p: number): string {
  if (Number.isNaN(p)) return "n/a";
  if (p < 1e-4) return p.toExponential(1);
  return p.toPrecision(2);
}
