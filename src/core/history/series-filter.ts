/** `--series FILTER`: which series `history changes` looks at. Pure. */
import { UsageError } from "../errors.js";
import { SERIES_FIELDS, type HistorySeries } from "./history-series.js";

export interface SeriesFilter {
  readonly text: string;
  readonly terms: readonly { field: (typeof SERIES_FIELDS)[number] | undefined; regex: RegExp }[];
}

function globToRegex(glob: string, whole: boolean): RegExp {
  const body = glob
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(whole ? `^${body}$` : body, "i");
}

/**
 * `field=glob[,field=glob...]` with fields kernel, config, workload, metric (`*` wildcards,
 * case-insensitive), or a bare word matched anywhere in the series name.
 */
export function parseSeriesFilter(text: string): SeriesFilter {
  const terms = text
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "")
    .map((term) => {
      const eq = term.indexOf("=");
      if (eq < 0) return { field: undefined, regex: globToRegex(term, false) };
      const field = term.slice(0, eq).trim();
      if (!(SERIES_FIELDS as readonly string[]).includes(field)) {
        throw new UsageError(`--series: unknown field "${field}" in "${term}"`, {
          hint: `use ${SERIES_FIELDS.join(", ")}, e.g. --series metric=task-clock,config=bits-5`,
        });
      }
      return {
        field: field as (typeof SERIES_FIELDS)[number],
        regex: globToRegex(term.slice(eq + 1).trim(), true),
      };
    });
  if (terms.length === 0) {
    throw new UsageError("--series is empty", { hint: "e.g. --series metric=task-clock" });
  }
  return { text, terms };
}

export function matchesFilter(series: HistorySeries, filter: SeriesFilter): boolean {
  return filter.terms.every((term) =>
    term.field === undefined ? term.regex.test(series.id) : term.regex.test(series.key[term.field]),
  );
}

/** The series the filter selects; a filter selecting none is a UsageError naming some series. */
export function selectSeries(
  series: readonly HistorySeries[],
  filter: SeriesFilter | undefined,
): HistorySeries[] {
  if (filter === undefined) return [...series];
  const selected = series.filter((s) => matchesFilter(s, filter));
  if (selected.length === 0) {
    const known = series.slice(0, 3).map((s) => `"${s.id}"`);
    throw new UsageError(`--series "${filter.text}" matches none of the ${series.length} series`, {
      hint:
        series.length === 0
          ? "the store is empty: add results with `balloon-bench history add`"
          : `series are named kernel · config · workload · metric, e.g. ${known.join(", ")}`,
    });
  }
  return selected;
}
