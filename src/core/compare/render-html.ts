import { formatP, formatQuantity } from "./format.js";
import type { GateResult } from "./gates.js";
import { deltaText, footer } from "./render-table.js";
import type { ComparisonReport } from "./compare-model.js";

function esc(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

const WIDTH = 640;
const ROW = 36;
const LEFT = 200;
const RIGHT = 30;

/** One strip plot: a row per cell, a dot per sample, a bar at the mean. Pure SVG, no scripts. */
export function stripPlot(
  title: string,
  unit: string,
  rows: readonly { label: string; values: readonly number[] }[],
): string {
  const all = rows.flatMap((r) => r.values);
  const min = Math.min(0, ...all);
  const max = Math.max(...all) * 1.05 || 1;
  const x = (v: number): number => LEFT + ((v - min) / (max - min)) * (WIDTH - LEFT - RIGHT);
  const height = 40 + rows.length * ROW + 30;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" role="img" aria-label="${esc(title)}">`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  rows.forEach((r, i) => {
    const y = 40 + i * ROW + ROW / 2;
    parts.push(`<text x="10" y="${y + 4}" font-size="12">${esc(r.label)}</text>`);
    parts.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    r.values.forEach((v, j) => {
      const jitter = ((j % 5) - 2) * 3;
      parts.push(
        `<circle class="sample" cx="${x(v).toFixed(1)}" cy="${y + jitter}" r="3" fill="#3465a4" fill-opacity="0.6"><title>${esc(String(v))}</title></circle>`,
      );
    });
    const mean = r.values.reduce((a, b) => a + b, 0) / r.values.length;
    parts.push(
      `<line class="mean" x1="${x(mean).toFixed(1)}" x2="${x(mean).toFixed(1)}" y1="${y - 12}" y2="${y + 12}" stroke="#cc0000" stroke-width="2"/>`,
    );
  });
  const axisY = 40 + rows.length * ROW + 5;
  parts.push(
    `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${axisY}" y2="${axisY}" stroke="#333"/>`,
  );
  for (const tick of [min, (min + max) / 2, max]) {
    parts.push(
      `<text x="${x(tick).toFixed(1)}" y="${axisY + 16}" font-size="11" text-anchor="middle">${esc(formatQuantity(tick, unit))}</text>`,
    );
  }
  parts.push("</svg>");
  return parts.join("");
}

/** One self-contained HTML file: every sample per cell as strip plots, and the comparison table. */
/** The comparison table's rows, one per comparison, with the gate's outcome in the verdict. */
function tableRows(report: ComparisonReport, gates?: GateResult): string[] {
  return report.comparisons.map((c, index) => {
    const { delta, ci } = deltaText(c);
    const gate = gates?.failures.get(index) ?? gates?.undecided.get(index);
    const side = (s: typeof c.baseline): string =>
      `${s.label}: ${formatQuantity(s.mean, c.unit)} ± ${formatQuantity(s.sd, c.unit)} (n=${s.n}, ${s.boots} boots)`;
    const cells = [
      c.workload,
      c.metric,
      side(c.baseline),
      side(c.candidate),
      delta,
      ci,
      formatP(c.pWelch),
      formatP(c.pMannWhitney),
      formatP(c.pAdjusted),
      `${c.verdict}: ${c.reason}${gate === undefined ? "" : ` — gate: ${gate}`}`,
      [...c.flags, ...c.dropped].join("; "),
    ];
    return `<tr class="${esc(c.verdict.replaceAll(" ", "-"))}">${cells.map((t) => `<td>${esc(t)}</td>`).join("")}</tr>`;
  });
}

const HEADER = [
  "workload",
  "metric",
  "baseline",
  "candidate",
  "delta",
  "95% CI",
  "p Welch",
  "p MW",
  "p Holm",
  "verdict",
  "flags",
];

/** One self-contained HTML file: every sample per cell as strip plots, and the comparison table. */
export function renderHtml(report: ComparisonReport, gates?: GateResult): string {
  const plots: string[] = [];
  const keys = [...new Set(report.series.map((s) => `${s.workload}\u0000${s.metric}`))];
  for (const key of keys) {
    const [workload, metric] = key.split("\u0000") as [string, string];
    const rows = report.series.filter((s) => s.workload === workload && s.metric === metric);
    plots.push(
      `<figure>${stripPlot(`${workload}: ${metric}`, rows[0]?.unit ?? "", rows)}</figure>`,
    );
  }
  const notCompared = [
    ...report.unsupported.map((u) => `${u.workload}, ${u.label}: ${u.metric} ${u.reason}`),
    ...report.dropped,
  ].map((text) => `<li>${esc(text)}</li>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>balloon-bench comparison</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}
tr.improvement td{background:#e6f4ea}tr.regression td{background:#fce8e6}tr.inconclusive td,tr.insufficient-data td{background:#fff8e1}figure{margin:1em 0}</style></head>
<body><h1>balloon-bench comparison</h1>
<p>Baseline: <code>${esc(`${report.baseline.key}=${report.baseline.value}`)}</code>. ${esc(footer(report))}</p>
<table><thead><tr>${HEADER.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${tableRows(report, gates).join("")}</tbody></table>
${notCompared.length > 0 ? `<h2>Not compared</h2><ul>${notCompared.join("")}</ul>` : ""}
<h2>Every sample</h2>
${plots.join("\n")}
</body></html>
`;
}
