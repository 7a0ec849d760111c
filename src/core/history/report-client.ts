/**
 * The history report's page script (plain ES2020 for the browser, no imports): it reads the JSON
 * data island, draws every chart with Chart.js and the boxplot plugin, and then sets
 * <body data-ready="true"> (or "error") and fills #render-summary with what it drew (charts,
 * points per dataset, markers, painted pixels), the requests the Content-Security-Policy blocked
 * and the resources the page loaded, for the browser test and anyone checking a report by script.
 */
/** First thing on the page: remember every request the Content-Security-Policy blocked. */
export const REPORT_VIOLATIONS = `window.__blocked = []; document.addEventListener("securitypolicyviolation", function (e) { window.__blocked.push(e.violatedDirective + " " + e.blockedURI); });`;

/** The page's script: plain ES2020 for the browser, no imports, reads the JSON data island. */
export const REPORT_CLIENT = String.raw`
(function () {
  "use strict";
  var summary = { charts: [], errors: [] };
  function painted(canvas) {
    var ctx = canvas.getContext("2d");
    var pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    var count = 0;
    for (var i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) count++;
    return count;
  }
  function pct(x) { return (x >= 0 ? "+" : "") + x.toFixed(1) + " %"; }
  function fmt(x) { return Math.abs(x) >= 1000 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toPrecision(3); }
  function day(iso) { return new Date(iso).toISOString().slice(0, 10); }
  var markers = {
    id: "historyMarkers",
    afterDatasetsDraw: function (chart, _args, options) {
      var lines = (options && options.lines) || [];
      var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      ctx.save();
      lines.forEach(function (line) {
        var px = x.getPixelForValue(line.at);
        ctx.strokeStyle = line.color;
        ctx.lineWidth = line.width || 2;
        ctx.setLineDash(line.dash || []);
        ctx.beginPath();
        ctx.moveTo(px, area.top);
        ctx.lineTo(px, area.bottom);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = line.color;
        ctx.font = "11px sans-serif";
        ctx.fillText(line.text, Math.min(px + 4, area.right - 120), area.top + 12 + (line.row || 0) * 13);
      });
      ctx.restore();
    }
  };
  try {
    var data = JSON.parse(document.getElementById("history-data").textContent);
    Chart.register(markers);
    Chart.defaults.animation = false;
    Chart.defaults.responsive = false;
    Chart.defaults.devicePixelRatio = 1;
    data.series.forEach(function (s) {
      var canvas = document.getElementById(s.anchor + "-canvas");
      var boots = [], nightly = [], levels = [], cps = [];
      s.nights.forEach(function (n, i) {
        n.boots.forEach(function (b) { boots.push({ x: i, y: b }); });
        nightly.push({ x: i, y: n.value });
      });
      s.levels.forEach(function (l) {
        levels.push({ x: l.from - 0.5, y: l.mean });
        levels.push({ x: l.to - 0.5, y: l.mean });
        levels.push({ x: l.to - 0.5, y: null });
      });
      s.changes.forEach(function (c) { cps.push({ x: c.index, y: c.after, change: c }); });
      var lines = s.changes.map(function (c, k) {
        return { at: c.index - 0.5, color: c.direction === "regression" ? "#cc0000" : "#2e7d32",
                 text: (c.direction === "regression" ? "▲ " : "▼ ") + pct(c.deltaPercent) + " (night " + c.index + ")", row: k % 3 };
      }).concat(s.splits.map(function (sp, k) {
        return { at: sp.index - 0.5, color: "#777777", dash: [6, 4], width: 1.5, text: "split: " + sp.kind, row: 3 + (k % 2) };
      }));
      var chart = new Chart(canvas, {
        type: "scatter",
        data: { datasets: [
          { label: "boot means", data: boots, pointRadius: 2.5, pointBackgroundColor: "rgba(52,101,164,0.35)", pointBorderWidth: 0 },
          { label: "nightly mean (of boot means)", data: nightly, type: "line", showLine: true, borderColor: "#204a87", backgroundColor: "#204a87", pointRadius: 3, borderWidth: 1.5 },
          { label: "level between change points", data: levels, type: "line", showLine: true, spanGaps: false, borderColor: "#f57900", pointRadius: 0, borderWidth: 2 },
          { label: "change points", data: cps, pointStyle: "triangle", pointRadius: 8, pointBackgroundColor: cps.map(function (p) { return p.change.direction === "regression" ? "#cc0000" : "#2e7d32"; }) }
        ] },
        options: {
          parsing: false,
          scales: {
            x: { type: "linear", min: -0.5, max: s.nights.length - 0.5, title: { display: true, text: "night" },
                 ticks: { callback: function (v) { var n = s.nights[v]; return Number.isInteger(v) && n ? day(n.date) : ""; } } },
            y: { title: { display: true, text: s.metric } }
          },
          plugins: {
            historyMarkers: { lines: lines },
            tooltip: { callbacks: {
              title: function (items) { var n = s.nights[Math.round(items[0].parsed.x)]; return n ? "night " + Math.round(items[0].parsed.x) + " · " + day(n.date) : ""; },
              label: function (item) {
                var n = s.nights[Math.round(item.parsed.x)];
                if (item.datasetIndex === 0) return "boot mean " + fmt(item.parsed.y);
                if (item.datasetIndex === 2) return "level " + fmt(item.parsed.y);
                if (item.datasetIndex === 3) { var c = item.raw.change; return c.direction + " " + pct(c.deltaPercent) + ": " + fmt(c.before) + " → " + fmt(c.after) + ", p " + c.p.toExponential(1); }
                return ["mean " + fmt(n.value) + " (median " + fmt(n.median) + (n.sdBoots === null ? "" : ", sd of boots " + fmt(n.sdBoots)) + ")",
                        n.boots.length + " boots, " + n.nIterations + " iterations", "build " + n.build, "run " + n.run];
              }
            } }
          }
        }
      });
      summary.charts.push({ id: s.anchor, kind: "series", series: s.id,
        points: { boots: chart.getDatasetMeta(0).data.length, nights: chart.getDatasetMeta(1).data.length, changes: chart.getDatasetMeta(3).data.length },
        changeMarkers: s.changes.length, splitMarkers: s.splits.length, painted: painted(canvas) });
    });
    data.latest.forEach(function (g) {
      var canvas = document.getElementById(g.anchor + "-canvas");
      var chart = new Chart(canvas, {
        type: "boxplot",
        data: { labels: g.builds.map(function (b) { return b.label; }),
                datasets: [{ label: "boot means, " + g.night, data: g.builds.map(function (b) { return b.boots; }),
                             backgroundColor: "rgba(52,101,164,0.25)", borderColor: "#204a87", borderWidth: 1.5,
                             itemRadius: 3, itemStyle: "circle", itemBackgroundColor: "rgba(32,74,135,0.6)", outlierRadius: 4 }] },
        options: { plugins: { legend: { display: true } }, scales: { y: { beginAtZero: false, grace: "5%", title: { display: true, text: g.metric } } } }
      });
      summary.charts.push({ id: g.anchor, kind: "latest-boxplot", group: g.id, builds: chart.getDatasetMeta(0).data.length, painted: painted(canvas) });
    });
  } catch (e) {
    summary.errors.push(String(e && e.stack || e));
  }
  summary.blocked = window.__blocked || [];
  summary.resources = performance.getEntriesByType("resource").map(function (r) { return r.name; });
  document.getElementById("render-summary").textContent = JSON.stringify(summary);
  document.body.setAttribute("data-ready", summary.errors.length === 0 ? "true" : "error");
})();
`;
