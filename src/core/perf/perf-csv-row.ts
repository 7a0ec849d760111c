import type { PerfCounter, PerfMetric, PerfValue } from "./perf-csv-types.js";

/**
 * One data line of `perf stat -x<sep>` output, as perf 6.x prints it
 * (tools/perf/util/stat-display.c: print_counter_value_csv, print_noise_pct_csv,
 * print_running_csv, print_metric_csv, new_line_csv).
 */
export type PerfCsvRow =
  | { kind: "counter"; counter: PerfCounter }
  /** A further derived metric printed on its own line for the counter above it. */
  | { kind: "metric"; metric: PerfMetric };

export type PerfCsvRowResult = { ok: true; row: PerfCsvRow } | { ok: false; reason: string };

// Counts are printed "%.0f" (or "%.2f" when the event has a fractional scale, e.g.
// task-clock in msec), never with thousands separators under -x.
const COUNT = /^-?\d+(?:\.\d+)?$/;
// Run time is a raw u64 (PRIu64) in nanoseconds.
const RUN_TIME_NS = /^\d+$/;
// "%.2f"; perf computes it as u64 100 * run / ena, so it is whole-numbered in practice.
const PERCENT = /^\d+(?:\.\d+)?$/;
// -r adds "%.2f%%" right after the event name, before the run time.
const VARIANCE = /^(\d+(?:\.\d+)?)%$/;
// print_metric_csv keeps only the leading digits and dots of the formatted metric,
// so a metric is never signed; NaN or negative metrics come out as an empty field.
const METRIC_VALUE = /^\d+(?:\.\d*)?$/;

const NOT_SUPPORTED = "<not supported>";
const NOT_COUNTED = "<not counted>";

// value, unit, event, run time, enabled %, metric value, metric unit: perf 6.x always
// prints all seven (empty metric fields as two bare separators).
const MIN_COUNTER_FIELDS = 7;
// Fields after the event (and the optional variance): run time, enabled %, metric value, unit.
const TRAILING_FIELDS = 4;
// Older perf (before 5.x printed every column) leaves the metric columns off a counter without
// a metric: value, unit, event, run time, enabled %. Accepted when the 7-field reading fails.
const LEGACY_FIELDS = 5;
const LEGACY_TRAILING_FIELDS = 2;
// A continuation line is the counter's leading fields left empty, then metric value and unit.
// The 6.1-era new_line_csv prints 4 separators before the value; later perf's CSV lint test
// expects every line to have 6 separators (5 before the value), so accept any count >= 3.
const MIN_CONTINUATION_FIELDS = 5;

function fail(reason: string): PerfCsvRowResult {
  return { ok: false, reason };
}

function parseValue(field: string): PerfValue | undefined {
  if (field === NOT_SUPPORTED) return { kind: "not-supported" };
  if (field === NOT_COUNTED) return { kind: "not-counted" };
  if (COUNT.test(field)) return { kind: "counted", value: Number(field) };
  return undefined;
}

function parseContinuation(fields: string[]): PerfCsvRowResult | undefined {
  if (fields.length < MIN_CONTINUATION_FIELDS) return undefined;
  const leading = fields.slice(0, -2);
  if (leading.some((field) => field !== "")) return undefined;
  const [rawValue = "", unit = ""] = fields.slice(-2);
  if (unit === "") return fail("metric continuation line without a metric unit");
  if (rawValue === "") return { ok: true, row: { kind: "metric", metric: { unit } } };
  if (!METRIC_VALUE.test(rawValue)) return fail(`metric value ${JSON.stringify(rawValue)}`);
  return { ok: true, row: { kind: "metric", metric: { value: Number(rawValue), unit } } };
}

/**
 * Splits the fields between unit and run time into event name and optional variance.
 * perf does not quote fields, so a PMU-term event such as "software/config=1,config1=0/"
 * spans several fields when the separator is a comma; only such "pmu/terms/" names are
 * allowed to absorb extra fields, so that a stray leading column (-I timestamps, -A CPU
 * ids) is reported instead of being glued into the event name.
 */
function splitEvent(
  middle: string[],
  separator: string,
): { event: string; variancepct?: number } | string {
  let eventFields = middle;
  let variancepct: number | undefined;
  const last = middle.at(-1) ?? "";
  const variance = VARIANCE.exec(last);
  if (middle.length >= 2 && variance) {
    variancepct = Number(variance[1]);
    eventFields = middle.slice(0, -1);
  }
  const event = eventFields.join(separator);
  if (event === "") return "empty event name";
  if (eventFields.length > 1 && !event.includes("/")) {
    return `${middle.length + 6} fields where 7 (8 with -r) were expected`;
  }
  return variancepct === undefined ? { event } : { event, variancepct };
}

export function parsePerfCsvRow(text: string, separator: string): PerfCsvRowResult {
  const fields = text.split(separator);

  const continuation = parseContinuation(fields);
  if (continuation) return continuation;

  if (fields.length < LEGACY_FIELDS) {
    return fail(`${fields.length} fields where 7 (8 with -r) were expected`);
  }
  const modern =
    fields.length >= MIN_COUNTER_FIELDS
      ? parseCounter(fields, separator, TRAILING_FIELDS)
      : undefined;
  if (modern?.ok === true) return modern;
  const legacy = parseCounter(fields, separator, LEGACY_TRAILING_FIELDS);
  if (legacy.ok) return legacy;
  return modern ?? fail(`${fields.length} fields where 7 (8 with -r) were expected`);
}

/** A counter line whose last `trailing` fields follow the event (4 in perf 6.x, 2 in older perf). */
function parseCounter(fields: string[], separator: string, trailing: number): PerfCsvRowResult {
  const rawValue = fields[0] ?? "";
  const unit = fields[1] ?? "";
  const [rawRunTime = "", rawEnabled = "", rawMetricValue = "", metricUnit = ""] = [
    ...fields.slice(-trailing),
    "",
    "",
  ];

  const value = parseValue(rawValue);
  if (!value) return fail(`counter value ${JSON.stringify(rawValue)}`);
  // A unit that looks like a count means the columns are shifted by a leading field
  // this parser does not support (-I timestamp, --per-* aggregation ids).
  if (COUNT.test(unit) || unit.startsWith("<")) return fail(`unit ${JSON.stringify(unit)}`);

  const split = splitEvent(fields.slice(2, -trailing), separator);
  if (typeof split === "string") return fail(split);

  if (!RUN_TIME_NS.test(rawRunTime)) return fail(`run time ${JSON.stringify(rawRunTime)}`);
  if (!PERCENT.test(rawEnabled)) return fail(`enabled percentage ${JSON.stringify(rawEnabled)}`);
  if (rawMetricValue !== "" && !METRIC_VALUE.test(rawMetricValue)) {
    return fail(`metric value ${JSON.stringify(rawMetricValue)}`);
  }

  // Optional keys are left out rather than set to undefined so results compare cleanly.
  const counter: PerfCounter = { event: split.event, value, unit };
  if (split.variancepct !== undefined) counter.variancepct = split.variancepct;
  // Number() is exact up to 2^53 ns (104 days) and 2^53 events, far beyond one benchmark run.
  counter.runTimeNs = Number(rawRunTime);
  counter.enabledPct = Number(rawEnabled);
  if (rawMetricValue !== "") counter.metricValue = Number(rawMetricValue);
  if (metricUnit !== "") counter.metricUnit = metricUnit;
  return { ok: true, row: { kind: "counter", counter } };
}
