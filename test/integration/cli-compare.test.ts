import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { execa } from "execa";
import { runCli } from "../helpers/cli.js";

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

describe("balloon-bench compare @integration", function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-compare-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes all six formats for a results directory", async () => {
    for (const format of ["text", "md", "json", "junit", "html", "letter"]) {
      const out = join(dir, `report.${format}`);
      const result = await runCli([
        "compare",
        fixture("results/thp-boots"),
        "--format",
        format,
        "--out",
        out,
      ]);
      expect(result.exitCode, result.stderr).to.equal(0);
      const text = await readFile(out, "utf8");
      expect(text.length, format).to.be.greaterThan(200);
    }
    expect(JSON.parse(await readFile(join(dir, "report.json"), "utf8"))).to.have.property(
      "passed",
      true,
    );
    expect(await readFile(join(dir, "report.junit"), "utf8")).to.match(/^<\?xml/);
  });

  it("gates exit 1 with the numbers, 0 when met, 3 when the data cannot decide", async () => {
    const thp = ["compare", fixture("results/thp-boots"), "--vmstat", "pgfault"];
    const met = await runCli([
      ...thp,
      "--baseline",
      "kernel=thp-never",
      "--expect-improvement",
      "vmstat.pgfault:85",
    ]);
    expect(met.exitCode, met.stderr).to.equal(0);
    const missed = await runCli([
      ...thp,
      "--baseline",
      "kernel=thp-never",
      "--expect-improvement",
      "vmstat.pgfault:95",
    ]);
    expect(missed.exitCode).to.equal(1);
    expect(missed.stderr).to.match(
      /^balloon-bench: gate failed: vmstat.pgfault \(alloc_once-64M, thp-always\/bits-5 vs thp-never\/bits-5\) was expected to improve by at least 95 %/m,
    );
    const regression = await runCli([...thp, "--fail-on-regression", "5"]);
    expect(regression.exitCode).to.equal(1);
    expect(regression.stdout).to.contain("regression (GATE FAILED)");
    // One boot per side (the first version's results): no verdict, so the gate cannot pass.
    const oneBoot = await runCli([
      "compare",
      fixture("results/init-on-alloc"),
      "--fail-on-regression",
      "5",
    ]);
    expect(oneBoot.exitCode).to.equal(3);
    expect(oneBoot.stderr.trim()).to.equal(
      "balloon-bench: gate undecided: task-clock (alloc_once-128M, noioa/bits-5 vs ioa/bits-5): 1 boot per side; a verdict needs at least 4",
    );
  });

  it("exits 2 for unusable input", async () => {
    const empty = join(dir, "empty");
    await execa("mkdir", ["-p", empty]);
    for (const args of [
      [empty],
      [fixture("results/a-a"), "--baseline", "config=nope"],
      [join(dir, "missing")],
    ]) {
      const result = await runCli(["compare", ...args]);
      expect(result.exitCode, args.join(" ")).to.equal(2);
      expect(result.stderr.trim().split("\n")).to.have.length(1);
    }
  });

  it("appends the Markdown to $GITHUB_STEP_SUMMARY", async () => {
    const summary = join(dir, "summary.md");
    await writeFile(summary, "# earlier step\n");
    const result = await runCli(["compare", fixture("results/a-a")], {
      GITHUB_STEP_SUMMARY: summary,
    });
    expect(result.exitCode).to.equal(0);
    const text = await readFile(summary, "utf8");
    expect(
      text.startsWith("# earlier step\n## balloon-bench comparison (baseline: `kernel=a`)"),
    ).to.equal(true);
    expect(text).to.contain("insufficient data");
  });

  it("compares hand-run bench.sh CSVs brought in with import, one boot per file", async () => {
    const out = join(dir, "imported");
    for (const [kernel, csvs] of [
      ["manual-a", ["perf/guest-tcg-append-3runs.csv", "perf/append-3-runs.csv"]],
      ["manual-b", ["perf/append-3-runs.csv", "perf/guest-tcg-append-3runs.csv"]],
    ] as const) {
      const imported = await runCli([
        "import",
        ...csvs.map(fixture),
        "--kernel",
        kernel,
        "--config",
        "baseline",
        "--workload",
        "alloc_once-64M",
        "--accel",
        "tcg",
        "--out",
        out,
      ]);
      expect(imported.exitCode, imported.stderr).to.equal(0);
    }
    const result = await runCli(["compare", out, "--format", "json"]);
    expect(result.exitCode, result.stderr).to.equal(0);
    const report = JSON.parse(result.stdout) as {
      comparisons: {
        metric: string;
        baseline: { n: number; boots: number };
        candidate: { n: number; boots: number };
      }[];
    };
    expect(
      report.comparisons.map((c) => [
        c.metric,
        c.baseline.n,
        c.baseline.boots,
        c.candidate.n,
        c.candidate.boots,
      ]),
    ).to.deep.include(["task-clock", 6, 2, 6, 2]);
    // Every format works on imported CSVs too.
    const markers: Record<string, RegExp> = {
      text: /task-clock/,
      md: /^\| task-clock \| .* \(n=6, 2 boots\) \| .* \(n=6, 2 boots\) \|/m,
      junit: /^<\?xml[\s\S]*<testcase classname="alloc_once-64M\.[^"]*" name="task-clock: /,
      html: /^<!doctype html>/i,
      letter: /^ {2}task-clock +\d+ \+- \d+ ms/m,
    };
    for (const [format, marker] of Object.entries(markers)) {
      const rendered = await runCli(["compare", out, "--format", format]);
      expect(rendered.exitCode, `${format}: ${rendered.stderr}`).to.equal(0);
      expect(rendered.stdout, format).to.match(marker);
    }
  });

  it("reports a known large effect, THP always vs never on the kernel command line, as significant with the right sign", async function () {
    this.timeout(300_000);
    const plan = join(dir, "thp.yaml");
    await writeFile(
      plan,
      [
        "seed: 5",
        "iterations: 4",
        "rounds: 4",
        "settleMs: 300",
        "vm: { memoryMiB: 1024, vcpus: 1 }",
        "events: [task-clock]",
        "kernels:",
        '  - { name: thp-never, path: "debian:amd64", cmdline: "transparent_hugepage=never" }',
        '  - { name: thp-always, path: "debian:amd64", cmdline: "transparent_hugepage=always" }',
        "workloads: [{ size: 128 }]",
        "",
      ].join("\n"),
    );
    const out = join(dir, "thp");
    const run = await runCli(["run", "--plan", plan, "--out", out], { CI: "true" });
    expect(run.exitCode, run.stderr).to.equal(0);
    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as {
      cells: { id: string; guest: { thp: string } }[];
    };
    expect(manifest.cells.map((c) => [c.id, c.guest.thp])).to.deep.equal([
      ["thp-never__bits-5__alloc_once-128M", "always madvise [never]"],
      ["thp-always__bits-5__alloc_once-128M", "[always] madvise never"],
    ]);
    // 128 MiB is 64 huge pages with THP, 32768 small pages without: the fault count shows it.
    const result = await runCli([
      "compare",
      out,
      "--baseline",
      "kernel=thp-never",
      "--vmstat",
      "pgfault",
      "--format",
      "json",
      "--expect-improvement",
      "vmstat.pgfault:90",
    ]);
    expect(result.exitCode, result.stderr).to.equal(0);
    const report = JSON.parse(result.stdout) as {
      comparisons: {
        metric: string;
        deltaPct: number;
        pAdjusted: number;
        verdict: string;
        baseline: { mean: number };
        candidate: { mean: number };
      }[];
    };
    const faults = report.comparisons.find((c) => c.metric === "vmstat.pgfault");
    expect(faults?.verdict).to.equal("improvement");
    expect(faults?.deltaPct).to.be.below(-90);
    expect(faults?.pAdjusted).to.be.below(0.05);
    expect(faults?.baseline.mean).to.be.above(32_768);
    expect(faults?.candidate.mean).to.be.below(32_768 / 8);
    // task-clock is compared too; under TCG its sign is not the hardware one (see the README).
    expect(report.comparisons.map((c) => c.metric)).to.deep.equal(["task-clock", "vmstat.pgfault"]);
  });

  it("calibrate runs an A/A pair in two VMs and compare shows its noise floor", async function () {
    this.timeout(300_000);
    const out = join(dir, "calibration");
    const result = await runCli([
      "calibrate",
      "--size",
      "128",
      "--iterations",
      "3",
      "--settle",
      "200",
      "--memory",
      "1024",
      "--out",
      out,
    ]);
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stdout).to.match(
      /^ {2}task-clock +\d+\.\d % +(\d\.\d\d|n\/a) +±\d+\.\d % at 3 boots per side/m,
    );
    const calibration = JSON.parse(await readFile(join(out, "calibration.json"), "utf8")) as {
      cells: string[];
      entries: { metric: string }[];
    };
    expect(calibration.cells).to.deep.equal([
      "debian-stock-A1__bits-5__alloc_once-128M",
      "debian-stock-A2__bits-5__alloc_once-128M",
    ]);
    expect(calibration.entries.map((e) => e.metric)).to.deep.equal(["task-clock"]);
    const compared = await runCli([
      "compare",
      fixture("results/init-on-alloc-boots"),
      "--calibration",
      out,
    ]);
    expect(compared.stdout).to.contain(
      "noise floor of task-clock (A/A calibration): deltas under ±",
    );
  });

  it("renders the HTML report in a real headless browser (Debian's chromium)", async () => {
    const html = join(dir, "report.html");
    await runCli([
      "compare",
      fixture("results/thp-boots"),
      "--vmstat",
      "pgfault",
      "--format",
      "html",
      "--out",
      html,
    ]);
    const result = await execa(
      "chromium",
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        `--user-data-dir=${join(dir, "chromium-profile")}`,
        "--dump-dom",
        `file://${html}`,
      ],
      { reject: false, timeout: 60_000 },
    );
    expect(result.exitCode, result.stderr).to.equal(0);
    // The DOM after layout: both plots' dots and the table are there.
    expect(result.stdout.match(/<circle class="sample"/g)).to.have.length(20);
    expect(result.stdout).to.match(
      /<tr class="regression"><td>alloc_once-64M<\/td><td>vmstat.pgfault<\/td>/,
    );
  });
});
