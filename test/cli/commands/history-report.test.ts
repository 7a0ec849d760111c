import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { recordsFromRun } from "../../../src/core/history/history-record.js";
import { buildSeries } from "../../../src/core/history/history-series.js";
import { analyzeSeries } from "../../../src/core/history/series-analysis.js";
import { historyRunInputs, seededHistory } from "../../../src/core/history/synthetic-history.js";
import { appendToStore } from "../../../src/machine/history/history-store.js";
import { runCli } from "../../helpers/cli.js";

const run = promisify(execFile);

interface Summary {
  charts: {
    id: string;
    kind: string;
    series?: string;
    points?: { boots: number; nights: number; changes: number };
    changeMarkers?: number;
    splitMarkers?: number;
    builds?: number;
    painted: number;
  }[];
  errors: string[];
  blocked: string[];
  resources: string[];
}

/** Debian's chromium, headless, in its own profile; --log-net-log records every request. */
async function chromium(dir: string, name: string, url: string, extra: string[]) {
  const netLog = join(dir, `${name}.netlog.json`);
  const { stdout } = await run(
    "chromium",
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--hide-scrollbars",
      `--user-data-dir=${join(dir, `profile-${name}`)}`,
      `--log-net-log=${netLog}`,
      "--virtual-time-budget=10000",
      ...extra,
      url,
    ],
    { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return { stdout, netLog };
}

/** Requests a page started (the browser's own update/time checks have no origin). */
async function pageRequests(netLog: string): Promise<string[]> {
  const log = JSON.parse(await readFile(netLog, "utf8")) as {
    constants: { logEventTypes: Record<string, number> };
    events: { type: number; params?: { initiator?: string; url?: string } }[];
  };
  const start = log.constants.logEventTypes.URL_REQUEST_START_JOB;
  return log.events
    .filter((e) => e.type === start && e.params?.url !== undefined)
    .filter((e) => e.params!.initiator !== "not an origin")
    .map((e) => e.params!.url!);
}

/**
 * Pixels of a screenshot within ±12 of each colour, counted by chromium itself: the PNG goes into
 * a page as a data: URL, is drawn on a canvas and read back (no PNG decoder of our own).
 */
async function countColours(
  dir: string,
  png: string,
  colours: readonly (readonly [number, number, number])[],
): Promise<{ size: [number, number]; counts: number[] }> {
  const page = join(dir, "count.html");
  const data = (await readFile(png)).toString("base64");
  await writeFile(
    page,
    `<html><body><pre id="out"></pre><script>
const colours = ${JSON.stringify(colours)};
const img = new Image();
img.onload = () => {
  const canvas = document.createElement("canvas");
  canvas.width = img.width; canvas.height = img.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const px = ctx.getImageData(0, 0, img.width, img.height).data;
  const counts = colours.map(() => 0);
  for (let i = 0; i < px.length; i += 4)
    colours.forEach((c, k) => {
      if (Math.abs(px[i] - c[0]) <= 12 && Math.abs(px[i + 1] - c[1]) <= 12 && Math.abs(px[i + 2] - c[2]) <= 12) counts[k]++;
    });
  document.getElementById("out").textContent = JSON.stringify({ size: [img.width, img.height], counts });
};
img.src = "data:image/png;base64,${data}";
</script></body></html>`,
  );
  const { stdout } = await chromium(dir, "count", `file://${page}`, ["--dump-dom"]);
  const json = /<pre id="out">([^<]*)<\/pre>/.exec(stdout)?.[1];
  if (json === undefined || json === "") throw new Error("chromium did not count the pixels");
  return JSON.parse(json) as { size: [number, number]; counts: number[] };
}

describe("history report: the HTML file in Debian's chromium, through the CLI @integration", function () {
  this.timeout(240_000);
  let dir: string;
  let html: string;
  let expected: {
    series: string;
    nights: number;
    boots: number;
    changes: number;
    splits: number;
  }[];

  before(async function () {
    try {
      await run("chromium", ["--version"], { timeout: 30_000 });
    } catch {
      throw new Error("chromium is missing: install it with `apt-get install chromium`");
    }
    dir = await mkdtemp(join(tmpdir(), "bb-history-report-"));
    // Two kernel lines; mainline regresses 8 % at night 40; both cross a host change at 30.
    const a = historyRunInputs(seededHistory(1, 60, [{ kind: "step", night: 40, relative: 0.08 }]));
    const b = historyRunInputs(
      seededHistory(2, 60, [{ kind: "fingerprint", night: 30, relative: -0.1 }]),
      { kernel: "series-v9" },
    );
    const runs = a.map((r, i) => ({
      ...r,
      fingerprint: b[i]!.fingerprint,
      cells: [...r.cells, ...b[i]!.cells],
    }));
    const records = runs.flatMap((r) => recordsFromRun(r).records);
    const series = buildSeries(records);
    const changes = series.flatMap((s) => analyzeSeries(s).changes);
    expected = series.map((s) => ({
      series: s.id,
      nights: s.records.length,
      boots: s.records.reduce((n, r) => n + r.boots.length, 0),
      changes: changes.filter((c) => c.series === s.id).length,
      splits: s.splits.length,
    }));
    expect(expected.map((e) => [e.changes, e.splits])).to.deep.equal([
      [1, 1],
      [0, 1],
    ]);
    const store = join(dir, "history.jsonl");
    await appendToStore(store, records);
    html = join(dir, "report.html");
    const cli = await runCli(["history", "report", "--store", store, "--out", html]);
    expect(cli.stderr).to.equal("");
    expect(cli.exitCode).to.equal(0);
    expect(cli.stdout).to.match(/2 series, 1 change point\(s\), \d+ KiB, works offline/);
  });

  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("is one file that names no network resource", async () => {
    const text = await readFile(html, "utf8");
    expect(text).to.not.match(
      /\b(?:src|href|action|poster|srcset)\s*=\s*["']?\s*(?:https?:)?\/\//i,
    );
    expect(text).to.not.match(/url\(\s*["']?\s*(?:https?:)?\/\//i);
    expect(text).to.not.match(/@import|sourceMappingURL/);
    expect(text).to.contain(`content="default-src 'none'; script-src 'unsafe-inline';`);
    expect(text).to.contain("Chart.js v4.");
  });

  it("draws every series, its boots, nights, change points and splits, and the latest boxes", async () => {
    const { stdout, netLog } = await chromium(dir, "dom", `file://${html}`, ["--dump-dom"]);
    expect(stdout).to.match(/<body data-ready="true">/);
    const json = /<pre id="render-summary">([^<]*)<\/pre>/.exec(stdout)?.[1];
    expect(json, "the page wrote its summary").to.be.a("string");
    const summary = JSON.parse(json!.replaceAll("&quot;", '"').replaceAll("&amp;", "&")) as Summary;
    expect(summary.errors).to.deep.equal([]);
    const series = summary.charts.filter((c) => c.kind === "series");
    expect(series.map((c) => c.series)).to.deep.equal(expected.map((e) => e.series));
    series.forEach((chart, i) => {
      const want = expected[i]!;
      expect(chart.points).to.deep.equal({
        boots: want.boots,
        nights: want.nights,
        changes: want.changes,
      });
      expect(chart.changeMarkers).to.equal(want.changes);
      expect(chart.splitMarkers).to.equal(want.splits);
      expect(chart.painted, `${chart.id} painted pixels`).to.be.above(5000);
    });
    const boxes = summary.charts.filter((c) => c.kind === "latest-boxplot");
    expect(boxes).to.have.length(1);
    expect(boxes[0]!.builds).to.equal(2);
    expect(boxes[0]!.painted).to.be.above(1000);
    // Nothing was fetched, nothing had to be blocked, and the browser saw no page request.
    expect(summary.resources).to.deep.equal([]);
    expect(summary.blocked).to.deep.equal([]);
    expect(await pageRequests(netLog)).to.deep.equal([]);
  });

  it("shows the plotted series in a screenshot", async () => {
    const shot = join(dir, "report.png");
    await chromium(dir, "shot", `file://${html}`, [
      `--screenshot=${shot}`,
      "--window-size=1200,2000",
    ]);
    // The nightly-mean line (#204a87), the change point (#cc0000), the levels (#f57900).
    const counts = await countColours(dir, shot, [
      [0x20, 0x4a, 0x87],
      [0xcc, 0x00, 0x00],
      [0xf5, 0x79, 0x00],
    ]);
    expect(counts.size, "screenshot size").to.deep.equal([1200, 2000]);
    const [means, change, levels] = counts.counts;
    expect(means, "nightly means").to.be.above(2000);
    expect(change, "change point").to.be.above(100);
    expect(levels, "levels").to.be.above(400);
    // A blank page has none of them: the counts are not vacuous.
    const blank = join(dir, "blank.html");
    await writeFile(blank, "<html><body></body></html>");
    const blankShot = join(dir, "blank.png");
    await chromium(dir, "blank", `file://${blank}`, [
      `--screenshot=${blankShot}`,
      "--window-size=1200,2000",
    ]);
    const none = await countColours(dir, blankShot, [[0x20, 0x4a, 0x87]]);
    expect(none.counts).to.deep.equal([0]);
  });

  it("would have seen a request (the network check is not vacuous)", async () => {
    const probe = join(dir, "probe.html");
    await writeFile(probe, '<html><body><img src="http://127.0.0.1:9/x.png"></body></html>');
    const { netLog } = await chromium(dir, "probe", `file://${probe}`, ["--dump-dom"]);
    expect(await pageRequests(netLog)).to.deep.equal(["http://127.0.0.1:9/x.png"]);
  });
});
