/**
 * The charting libraries the HTML report inlines, read from node_modules: chart.js 4 (UMD, MIT)
 * and @sgratzl/chartjs-chart-boxplot 4 (UMD, MIT; registers the boxplot and violin charts).
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ChartAssets } from "../../core/history/render-history-report.js";

const require = createRequire(import.meta.url);

async function packageRoot(name: string): Promise<{ root: string; version: string }> {
  // Resolve the main entry (package.json itself may not be exported), then walk up to the root.
  let dir = dirname(require.resolve(name));
  for (;;) {
    try {
      const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === name) return { root: dir, version: manifest.version ?? "?" };
    } catch {
      // not the root yet
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the package root of ${name}`);
    dir = parent;
  }
}

let cached: Promise<ChartAssets> | undefined;

export function loadChartAssets(): Promise<ChartAssets> {
  cached ??= (async () => {
    const chart = await packageRoot("chart.js");
    const boxplot = await packageRoot("@sgratzl/chartjs-chart-boxplot");
    return {
      chartJs: await readFile(join(chart.root, "dist", "chart.umd.min.js"), "utf8"),
      boxplot: await readFile(join(boxplot.root, "build", "index.umd.min.js"), "utf8"),
      versions: `chart.js ${chart.version}, @sgratzl/chartjs-chart-boxplot ${boxplot.version}`,
    };
  })();
  return cached;
}
