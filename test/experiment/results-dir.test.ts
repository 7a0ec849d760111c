import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { parsePerfStatCsv } from "../../src/core/perf/perf-csv.js";
import { ResultsDir, cellId } from "../../src/experiment/results-dir.js";
import { countersFromPerfRun, type Sample } from "../../src/core/results-format/sample.js";
import { renderSummary, summarizeSamples } from "../../src/core/results-format/summary.js";
import { UsageError } from "../../src/core/errors.js";

async function guestSamples(): Promise<Sample[]> {
  const csv = await readFile(
    new URL("../fixtures/perf/guest-tcg-append-3runs.csv", import.meta.url),
    "utf8",
  );
  return parsePerfStatCsv(csv).map((run) => ({
    schema: 1,
    cell: "c",
    kernel: "k",
    config: "bits-5",
    workload: "alloc_once-64M",
    iteration: run.index + 1,
    warmup: false,
    startedAt: run.startedOn ?? "",
    wallMs: 0,
    settle: { method: "sleep", sleptMs: 3000 },
    counters: countersFromPerfRun(run),
  }));
}

describe("summaries of real guest perf output", () => {
  it("gives mean and sample sd of task-clock and never a zero for <not supported>", async () => {
    const summaries = summarizeSamples(await guestSamples());
    expect(summaries.map((s) => s.event)).to.deep.equal([
      "task-clock",
      "instructions",
      "cache-misses",
    ]);
    const taskClock = summaries[0];
    expect(taskClock?.n).to.equal(3);
    expect(taskClock?.mean).to.be.closeTo((579.41 + 540.4 + 509.68) / 3, 1e-9);
    expect(taskClock?.sd).to.be.closeTo(34.947035, 1e-6);
    expect(summaries[1]).to.deep.include({ n: 0, mean: undefined, notSupported: 3 });
  });

  it("says plainly that hardware events are not supported under TCG", async () => {
    const text = renderSummary(summarizeSamples(await guestSamples()), { accelerator: "tcg" });
    expect(text.split("\n")).to.deep.equal([
      "  event         mean ± sd                  n",
      "  task-clock    543 ms ± 34.9 ms           3",
      "  instructions  not supported: TCG emulates no hardware PMU (perf printed <not supported>)",
      "  cache-misses  not supported: TCG emulates no hardware PMU (perf printed <not supported>)",
    ]);
  });

  it("leaves warm-ups out", async () => {
    const samples = await guestSamples();
    const withWarmup = [{ ...samples[0]!, warmup: true }, ...samples.slice(1)];
    expect(summarizeSamples(withWarmup)[0]?.n).to.equal(2);
  });
});

describe("results directory", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-results-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses to write into a directory that already holds something", async () => {
    await writeFile(join(dir, "keep.txt"), "precious");
    const error = await ResultsDir.create(dir).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(UsageError);
    expect(await readFile(join(dir, "keep.txt"), "utf8")).to.equal("precious");
  });

  it("appends samples and skips a torn last line left by a crash", async () => {
    const results = await ResultsDir.create(join(dir, "out"));
    const [first, second] = await guestSamples();
    await results.appendSample({ ...first!, cell: "a" });
    await results.appendSample({ ...second!, cell: "a" });
    await appendFile(
      join(results.path, "cells", "a", "samples.jsonl"),
      '{"schema":1,"cell":"a","iter',
    );
    expect((await results.readSamples("a")).map((s) => s.iteration)).to.deep.equal([1, 2]);
  });

  it("keeps the raw CSV byte for byte", async () => {
    const results = await ResultsDir.create(join(dir, "out"));
    const csv = await readFile(
      new URL("../fixtures/perf/guest-tcg-append-3runs.csv", import.meta.url),
    );
    await results.writeRawCsv("a", csv);
    expect((await readFile(join(results.path, "cells", "a", "perf.csv"))).equals(csv)).to.equal(
      true,
    );
  });

  it("makes cell ids safe as folder names", () => {
    expect(cellId("my kernel", "bits-5", "alloc_once-256M/huge")).to.equal(
      "my_kernel__bits-5__alloc_once-256M_huge",
    );
  });
});
