/**
 * The history report: ONE offline HTML file. Per series a time series (every boot's mean as a
 * point, the nightly mean as a line, the fitted levels between change points, change points and
 * splits marked, hover details), and for the latest night a box plot per build of each
 * config × workload × metric. Drawn by Chart.js 4 with @sgratzl/chartjs-chart-boxplot, both
 * inlined (the caller passes their source, see machine/history/chart-assets.ts); a
 * Content-Security-Policy forbids every network request, so the file works offline by
 * construction.
 *
 * When the page has drawn, <body data-ready="true"> (or "error") is set and #render-summary
 * holds JSON describing what was drawn (charts, points per dataset, markers, painted pixels),
 * the requests the policy blocked and the resources the page loaded (both must be empty), for
 * the browser test and anyone checking a report by script. Pure: data in, string out.
 */
import type { HistoryRecord } from "./history-record.js";
import { buildSeries, type HistorySeries, type SeriesSplit } from "./history-series.js";
import { REPORT_CLIENT, REPORT_VIOLATIONS } from "./report-client.js";
import { nightOf } from "./history-gate.js";
import { type HistoryChange } from "./series-analysis.js";

export interface ChartAssets {
  /** chart.js dist/chart.umd.min.js */
  readonly chartJs: string;
  /** @sgratzl/chartjs-chart-boxplot build/index.umd.min.js */
  readonly boxplot: string;
  /** For the footer, e.g. "chart.js 4.6.1, @sgratzl/chartjs-chart-boxplot 4.4.5". */
  readonly versions: string;
}

export interface ReportOptions {
  readonly title?: string;
}

interface SeriesData {
  readonly id: string;
  readonly anchor: string;
  readonly nights: {
    readonly date: string;
    readonly value: number;
    readonly median: number;
    readonly sdBoots: number | null;
    readonly nIterations: number;
    readonly run: string;
    readonly build: string;
    readonly boots: readonly number[];
  }[];
  readonly levels: { readonly from: number; readonly to: number; readonly mean: number }[];
  readonly changes: {
    readonly index: number;
    readonly date: string;
    readonly before: number;
    readonly after: number;
    readonly deltaPercent: number;
    readonly p: number;
    readonly direction: string;
  }[];
  readonly splits: readonly SeriesSplit[];
}

interface LatestGroup {
  readonly id: string;
  readonly night: string;
  readonly builds: { readonly label: string; readonly boots: readonly number[] }[];
}

function esc(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** JSON safe inside <script>: no "</script", no HTML comment openers, no line separators. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll("<", "\\u003c")
    .replaceAll(">", "\\u003e")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}

/** Library source safe inside <script>, without its source-map comment (no fetch from DevTools). */
function inlineScript(source: string): string {
  return source
    .replace(/\/\/# sourceMappingURL=\S*\s*$/, "")
    .replaceAll(/<\/script/gi, "<\\/script")
    .replaceAll("<!--", "<\\!--");
}

function buildLabel(record: HistoryRecord): string {
  const id = record.kernel.commit ?? record.kernel.sha256;
  return id === undefined ? record.kernel.label : `${record.kernel.label} @ ${id.slice(0, 12)}`;
}

function seriesData(
  series: HistorySeries,
  changes: readonly HistoryChange[],
  i: number,
): SeriesData {
  const mine = changes.filter((c) => c.series === series.id).sort((a, b) => a.index - b.index);
  const values = series.records.map((r) => r.mean);
  const cuts = [
    ...new Set([...series.segments.map(([from]) => from), ...mine.map((c) => c.index)]),
  ].sort((a, b) => a - b);
  const levels = cuts.map((from, k) => {
    const to = cuts[k + 1] ?? values.length;
    const slice = values.slice(from, to);
    return { from, to, mean: slice.reduce((s, v) => s + v, 0) / slice.length };
  });
  return {
    id: series.id,
    anchor: `series-${i}`,
    nights: series.records.map((r) => ({
      date: r.date,
      value: r.mean,
      median: r.median,
      sdBoots: r.sdBoots,
      nIterations: r.nIterations,
      run: r.sourceRun,
      build: buildLabel(r),
      boots: r.boots.map((b) => b.mean),
    })),
    levels,
    changes: mine.map((c) => ({
      index: c.index,
      date: c.date,
      before: c.before.mean,
      after: c.after.mean,
      deltaPercent: c.deltaPercent,
      p: c.p,
      direction: c.direction,
    })),
    splits: series.splits,
  };
}

/** The latest night of the store: per config × workload × metric, one box per build. */
function latestGroups(series: readonly HistorySeries[]): LatestGroup[] {
  const nights = series.flatMap((s) => s.records.map((r) => nightOf(r.date))).sort();
  const night = nights[nights.length - 1];
  if (night === undefined) return [];
  const groups = new Map<string, LatestGroup>();
  for (const s of series) {
    const last = [...s.records].reverse().find((r) => nightOf(r.date) === night);
    if (last === undefined) continue;
    const id = `${s.key.config} · ${s.key.workload} · ${s.key.metric}`;
    const group = groups.get(id) ?? { id, night, builds: [] };
    group.builds.push({ label: buildLabel(last), boots: last.boots.map((b) => b.mean) });
    groups.set(id, group);
  }
  return [...groups.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function formatNumber(value: number): string {
  const abs = Math.abs(value);
  return abs >= 1000 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : value.toPrecision(3);
}

function formatP(p: number): string {
  return p < 0.0001 ? p.toExponential(1) : p.toFixed(4);
}

function changesTable(data: readonly SeriesData[]): string {
  const rows = data.flatMap((s) =>
    s.changes.map(
      (c) =>
        `<tr class="${c.direction}"><td><a href="#${s.anchor}">${esc(s.id)}</a></td><td>${c.index}</td><td>${esc(nightOf(c.date))}</td><td>${formatNumber(c.before)} → ${formatNumber(c.after)}</td><td>${c.deltaPercent >= 0 ? "+" : ""}${c.deltaPercent.toFixed(1)} %</td><td>${formatP(c.p)}</td><td>${c.direction}</td></tr>`,
    ),
  );
  const splits = data.flatMap((s) =>
    s.splits.map(
      (split) =>
        `<tr class="split"><td><a href="#${s.anchor}">${esc(s.id)}</a></td><td>${split.index}</td><td>${esc(nightOf(split.date))}</td><td colspan="4">split: ${esc(split.reason)} (not a performance change)</td></tr>`,
    ),
  );
  if (rows.length + splits.length === 0) return `<p>No change points and no splits.</p>`;
  return `<table><thead><tr><th>series</th><th>night</th><th>date</th><th>level before → after</th><th>delta</th><th>p</th><th>direction</th></tr></thead><tbody>${[...rows, ...splits].join("")}</tbody></table>`;
}

/** The page's sections: one canvas per series, one per group of the latest night. */
function sections(
  data: readonly SeriesData[],
  latest: readonly (LatestGroup & { anchor: string })[],
): { seriesSections: string; latestSections: string } {
  const seriesSections = data
    .map(
      (s) =>
        `<section class="series" id="${s.anchor}"><h3>${esc(s.id)}</h3><p class="meta">${s.nights.length} nights, ${s.changes.length} change point(s), ${s.splits.length} split(s)${s.splits.map((sp) => ` · night ${sp.index}: ${esc(sp.reason)}`).join("")}</p><canvas id="${s.anchor}-canvas" width="1100" height="300" role="img" aria-label="${esc(s.id)}"></canvas></section>`,
    )
    .join("\n");
  const latestSections =
    latest.length === 0
      ? "<p>No data.</p>"
      : latest
          .map(
            (g) =>
              `<section class="latest" id="${g.anchor}"><h3>${esc(g.id)} (${esc(g.night)})</h3><canvas id="${g.anchor}-canvas" width="${Math.min(1100, 220 + 160 * g.builds.length)}" height="300" role="img" aria-label="${esc(g.id)}"></canvas></section>`,
          )
          .join("\n");
  return { seriesSections, latestSections };
}

export function renderHistoryReport(
  records: readonly HistoryRecord[],
  changes: readonly HistoryChange[],
  assets: ChartAssets,
  options: ReportOptions = {},
): string {
  const series = buildSeries(records);
  const data = series.map((s, i) => seriesData(s, changes, i));
  const latest = latestGroups(series).map((g, i) => ({
    ...g,
    anchor: `latest-${i}`,
    metric: g.id.split(" · ").pop() ?? "",
  }));
  const dates = records.map((r) => nightOf(r.date)).sort();
  const title = options.title ?? "balloon-bench history";
  const span = dates.length === 0 ? "empty store" : `${dates[0]} … ${dates[dates.length - 1]}`;
  const { seriesSections, latestSections } = sections(data, latest);
  const payload = {
    series: data.map((s, i) => ({ ...s, metric: series[i]!.key.metric })),
    latest,
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<script>${REPORT_VIOLATIONS}</script>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; margin-top: 1.5em; } h3 { font-size: 1em; margin: 0.8em 0 0.2em; }
.meta { color: #555; margin: 0 0 0.3em; font-size: 0.9em; }
table { border-collapse: collapse; } th, td { border-bottom: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; }
tr.regression td:nth-child(7) { color: #cc0000; } tr.improvement td:nth-child(7) { color: #2e7d32; } tr.split { color: #666; }
canvas { border: 1px solid #eee; }
#render-summary { display: none; }
</style>
</head>
<body data-ready="false">
<h1>${esc(title)}</h1>
<p>${series.length} series, ${esc(span)}. Points: each boot's mean; line: the night's mean of boot means; orange: the level between change points; triangles and solid lines: change points (red regression, green improvement, lower is better unless the metric says otherwise); dashed grey: a split (fingerprint or feature bits changed, never a performance change).</p>
<h2>Change points and splits</h2>
${changesTable(data)}
<h2>Time series</h2>
${seriesSections}
<h2>Latest night, per build</h2>
${latestSections}
<p class="meta">Drawn offline by ${esc(assets.versions)} (MIT), inlined.</p>
<pre id="render-summary"></pre>
<script type="application/json" id="history-data">${scriptJson(payload)}</script>
<script>${inlineScript(assets.chartJs)}</script>
<script>${inlineScript(assets.boxplot)}</script>
<script>${REPORT_CLIENT}</script>
</body>
</html>
`;
}
