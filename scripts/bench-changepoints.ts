/**
 * npm run bench:changepoints: how the history detector behaves night after night on synthetic
 * histories with boot-clustered noise. Every history is replayed as the nightly job would see it:
 * each night the detector runs on the history so far and the gate reports the change points that
 * are new (absent from the previous `memory` nightly analyses).
 *
 *   - false alerts: nights on which the gate reports a new change point although the history has
 *     none (per 100 nights, Clopper-Pearson 95 % interval over nights);
 *   - steps: the step's night s; detected on the first night t ≥ s on which the gate reports a new
 *     change point in the step's direction within ± 3 nights of s; delay = t − s, so "within 5
 *     nights" means t ≤ s + 4 (five nights at the new level, the step's night included);
 *   - drifts: a linear ramp; detected when a new change point in its direction falls inside it;
 *   - breaks: a new fingerprint (host) or new negotiated bits with a 10 % level jump, run through
 *     the real records (history add's records → series → splits): must be a split, not a change.
 *
 * Options: --histories N (per row, default 300), --seed S (default 1); to try other detector
 * settings: --window N, --p P, --magnitude M (fraction), --min-segment N, the gate's --memory N,
 * and --tuning (only the target rows).
 * Prints Markdown for the README. Pure computation; deterministic for a seed.
 */
import {
  DEFAULT_DETECTOR_OPTIONS,
  type DetectorOptions,
} from "../src/core/history/change-points.js";
import { DEFAULT_GATE_OPTIONS } from "../src/core/history/history-gate.js";
import { REAL_LIKE, Rng } from "../src/core/history/synthetic-history.js";
import { medianWithInterval, per100, quantile, rate } from "./bench-changepoints-format.js";
import {
  MATCH,
  NIGHT_EFFECT,
  STEP_WATCH,
  WANDER,
  breaks,
  drifts,
  falseAlerts,
  outlierEvents,
  steps,
  type Bench,
  type FalseAlertRow,
  type StepRow,
} from "./bench-changepoints-scenarios.js";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const value = i < 0 ? undefined : Number(process.argv[i + 1]);
  return value === undefined || !Number.isFinite(value) ? fallback : value;
}

const SEED = option("--seed", 1);
const OUTLIERS = "real-like + outlier nights (1 in 20, ±10-30 %)";
const bench: Bench = {
  histories: option("--histories", 300),
  gate: { ...DEFAULT_GATE_OPTIONS, memory: option("--memory", DEFAULT_GATE_OPTIONS.memory) },
};

function detectorOptions(): DetectorOptions {
  const d = DEFAULT_DETECTOR_OPTIONS;
  return {
    ...d,
    windowLength: option("--window", d.windowLength),
    maxPValue: option("--p", d.maxPValue),
    minMagnitude: option("--magnitude", d.minMagnitude),
    minSegment: option("--min-segment", d.minSegment),
  };
}

/** --tuning: only the target rows, on one line. */
function tuning(rng: Rng, options: DetectorOptions): string {
  const noise = falseAlerts(bench, REAL_LIKE.name, REAL_LIKE, rng, options);
  const step = steps(bench, "5 %", 0.05, REAL_LIKE, rng, options);
  const night = falseAlerts(bench, NIGHT_EFFECT.name, NIGHT_EFFECT, rng, options);
  const nightStep = steps(bench, "5 %", 0.05, NIGHT_EFFECT, rng, options);
  return `${JSON.stringify(options)}: real-like ${per100(noise.alertNights, noise.nights)} false/100, 5 % within 5: ${rate(step.within5, step.n)}; night effect ${per100(night.alertNights, night.nights)}, ${rate(nightStep.within5, nightStep.n)}\n`;
}

function header(o: DetectorOptions): string[] {
  const g = bench.gate;
  return [
    `#### Change point detector on synthetic nightly histories`,
    "",
    `\`npm run bench:changepoints\` (seed ${SEED}, ${bench.histories} histories per row, 60-120 nights each, ` +
      `replayed night by night). Detector defaults: e-divisive with Hunter's t-test, window ${o.windowLength} nights, ` +
      `p < ${o.maxPValue}, magnitude > ${o.minMagnitude * 100} %, at least ${o.minSegment} nights per side, ` +
      `Student's t on the nightly means; gate: new = absent from the previous ${g.memory} nightly analyses ` +
      `(± ${g.tolerance} nights), fails on a regression ≥ ${g.thresholdPercent} %. Intervals: 95 %, ` +
      `Clopper-Pearson for rates (nights of one history are not independent, so read them as approximate).`,
    "",
  ];
}

function falseAlertTable(rows: readonly FalseAlertRow[]): string[] {
  return [
    `False alerts (no change in the history):`,
    "",
    `| noise | nights | new change point reported, per 100 nights | gate fails, per 100 nights |`,
    `| --- | ---: | ---: | ---: |`,
    ...rows.map(
      (row) =>
        `| ${row.label} | ${row.nights} | ${per100(row.alertNights, row.nights)} | ${per100(row.gateNights, row.nights)} |`,
    ),
    "",
  ];
}

function stepTable(rows: readonly StepRow[]): string[] {
  return [
    `Steps, real-like noise (direction random; found = new change point within ± ${MATCH} nights of the step):`,
    "",
    `| step | histories | found within 5 nights | found within ${STEP_WATCH} nights | delay, nights: median (95 % CI) | p90 | at the exact night |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...rows.map(
      (row) =>
        `| ${row.label} | ${row.n} | ${rate(row.within5, row.n)} | ${rate(row.within15, row.n)} | ${medianWithInterval(row.delays)} | ${quantile(row.delays, 0.9)} | ${rate(row.exact, row.n)} |`,
    ),
    "",
  ];
}

function driftTable(rows: readonly StepRow[]): string[] {
  return [
    `Drifts, real-like noise (found = new change point inside the ramp, in its direction):`,
    "",
    `| drift | histories | found by 5 nights after its end | delay from its start: median (95 % CI) | p90 |`,
    `| --- | ---: | ---: | ---: | ---: |`,
    ...rows.map(
      (row) =>
        `| ${row.label} | ${row.n} | ${rate(row.within5, row.n)} | ${medianWithInterval(row.delays)} | ${quantile(row.delays, 0.9)} |`,
    ),
    "",
  ];
}

function breakTable(rows: readonly [string, ReturnType<typeof breaks>][]): string[] {
  return [
    `Breaks with a 10 % level jump (through real records, series split):`,
    "",
    `| break | histories | split at the right night | a change point within ± ${MATCH} nights of the break (inside a segment) | false alerts per 100 nights |`,
    `| --- | ---: | ---: | ---: | ---: |`,
    ...rows.map(
      ([label, row]) =>
        `| ${label} | ${row.n} | ${rate(row.rightSplit, row.n)} | ${rate(row.changeAtBreak, row.n)} | ${per100(row.alertNights, row.nights)} |`,
    ),
    "",
  ];
}

/** The same rows with Welch's t over every boot, next to the default's. */
function welchTable(
  rng: Rng,
  options: DetectorOptions,
  noiseRows: readonly FalseAlertRow[],
  step5: StepRow,
): string[] {
  const welch: DetectorOptions = { ...options, test: "welch-boots" };
  const rows = [
    falseAlerts(bench, REAL_LIKE.name, REAL_LIKE, rng, welch),
    falseAlerts(bench, NIGHT_EFFECT.name, NIGHT_EFFECT, rng, welch),
    falseAlerts(bench, OUTLIERS, REAL_LIKE, rng, welch, (n) => outlierEvents(rng, n)),
  ];
  const welchStep = steps(bench, "5 %", 0.05, REAL_LIKE, rng, welch);
  return [
    `Why not a t-test over boots: the same thresholds with Welch's t on every boot of each side:`,
    "",
    `| noise | new change point per 100 nights, boots (Welch) | nights (Student, default) |`,
    `| --- | ---: | ---: |`,
    ...rows.map((row, i) => {
      const base = noiseRows[i === 2 ? 3 : i]!;
      return `| ${row.label} | ${per100(row.alertNights, row.nights)} | ${per100(base.alertNights, base.nights)} |`;
    }),
    `| 5 % step found within 5 nights | ${rate(welchStep.within5, welchStep.n)} | ${rate(step5.within5, step5.n)} |`,
    "",
  ];
}

function main(): void {
  const started = Date.now();
  const rng = new Rng(SEED);
  const options = detectorOptions();
  if (process.argv.includes("--tuning")) {
    process.stdout.write(tuning(rng, options));
    return;
  }
  const noiseRows: FalseAlertRow[] = [
    falseAlerts(bench, REAL_LIKE.name, REAL_LIKE, rng, options),
    falseAlerts(bench, NIGHT_EFFECT.name, NIGHT_EFFECT, rng, options),
    falseAlerts(bench, WANDER.name, WANDER, rng, options),
    falseAlerts(bench, OUTLIERS, REAL_LIKE, rng, options, (n) => outlierEvents(rng, n)),
  ];
  const stepRows = [0.02, 0.03, 0.05, 0.1, 0.2].map((s) =>
    steps(bench, `${s * 100} %`, s, REAL_LIKE, rng, options),
  );
  const otherNoise = [
    steps(bench, `5 %, ${NIGHT_EFFECT.name}`, 0.05, NIGHT_EFFECT, rng, options),
    steps(bench, `5 %, ${WANDER.name}`, 0.05, WANDER, rng, options),
  ];
  const driftRows = [
    drifts(bench, "+5 % over 20 nights", 0.05, 20, rng, options),
    drifts(bench, "+10 % over 20 nights", 0.1, 20, rng, options),
    drifts(bench, "+10 % over 40 nights", 0.1, 40, rng, options),
  ];
  const breakRows: [string, ReturnType<typeof breaks>][] = [
    ["new fingerprint (host kernel)", breaks(bench, "fingerprint", rng)],
    ["new negotiated bits", breaks(bench, "bits", rng)],
  ];
  const realLike = noiseRows[0]!;
  const step5 = stepRows[2]!;
  const falseRate = (100 * realLike.alertNights) / realLike.nights;
  const detect5 = step5.within5 / step5.n;
  const out = [
    ...header(options),
    ...falseAlertTable(noiseRows),
    ...stepTable([...stepRows, ...otherNoise]),
    ...driftTable(driftRows),
    ...breakTable(breakRows),
    ...welchTable(rng, options, noiseRows, step5),
    `Targets (real-like noise): ≤ 1 false alert per 100 nights: ${falseRate <= 1 ? "met" : "NOT MET"} ` +
      `(${per100(realLike.alertNights, realLike.nights)}); 5 % step within 5 nights ≥ 90 %: ` +
      `${detect5 >= 0.9 ? "met" : "NOT MET"} (${rate(step5.within5, step5.n)}).`,
    "",
    `(${((Date.now() - started) / 1000).toFixed(0)} s)`,
  ];
  process.stdout.write(`${out.join("\n")}\n`);
  if (falseRate > 1 || detect5 < 0.9) process.exitCode = 1;
}

main();
