import { expect } from "chai";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../../src/core/errors.js";
import { ResultsDir } from "../../../src/experiment/results-dir.js";
import { readHistoryRunInput } from "../../../src/experiment/history/results-history-input.js";
import { laterNight, recordedResults } from "../../helpers/history-fixtures.js";

describe("history input from a results directory", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-history-input-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a recorded run through the results format: boots, bits, kernel, environment", async () => {
    const input = await readHistoryRunInput(recordedResults("thp-boots"));
    expect(input.sourceRun).to.match(/^run\/354ea5344d59\/seed-9\/shard-all\/2026-12-01T12:48:31/);
    expect(input.date).to.match(/^2026-12-01T12:48/);
    expect(input).to.include({ qemuVersion: "7.2.22", accelerator: "tcg" });
    expect(input.fingerprint).to.include({
      hostKernel: "6.18.44-fc-v657",
      "vm.memoryMiB": 1024,
      "kernels.thp-always": "85667e6c72245133bd7e3e80bac7d16b26fda15c0a3c68faa4b713850ea526cd",
    });
    expect(input.cells.map((c) => [c.kernel.label, c.config, c.workload])).to.deep.equal([
      ["thp-always", "bits-5", "alloc_once-64M"],
      ["thp-never", "bits-5", "alloc_once-64M"],
    ]);
    const [always] = input.cells;
    expect(always!.kernel).to.deep.include({ release: "6.1.0-57-amd64" });
    expect(always!.kernel.sha256).to.match(/^[0-9a-f]{64}$/);
    expect(always!.requestedBits).to.deep.equal([5]);
    expect(always!.negotiatedBits).to.deep.equal([1, 5]);
    expect(new Set(always!.samples.map((s) => s.boot)).size).to.equal(5);
    expect(always!.samples[0]!.metrics["task-clock"]).to.be.a("number");
  });

  it("gives the same source run for the same directory, another for another night", async () => {
    const a = await readHistoryRunInput(recordedResults("thp-boots"));
    const again = await readHistoryRunInput(recordedResults("thp-boots"));
    const later = await readHistoryRunInput(await laterNight("thp-boots", dir, 1));
    expect(again.sourceRun).to.equal(a.sourceRun);
    expect(later.sourceRun).to.not.equal(a.sourceRun);
    expect(Date.parse(later.date) - Date.parse(a.date)).to.equal(86_400_000);
  });

  it("leaves warm-ups out, and reads older and imported results", async () => {
    const copy = join(dir, "with-warmup");
    await cp(recordedResults("thp-boots"), copy, { recursive: true });
    const results = await ResultsDir.open(copy);
    const id = "thp-always__bits-5__alloc_once-64M";
    const [first] = await results.readSamples(id);
    const counters = { "task-clock": { ...first!.counters["task-clock"]!, value: 1e9 } };
    await results.appendSample({ ...first!, warmup: true, counters });
    const input = await readHistoryRunInput(copy);
    const values = input.cells[0]!.samples.map((s) => s.metrics["task-clock"]);
    expect(values).to.not.include(1e9);
    const v2 = await readHistoryRunInput(recordedResults("v2-run"));
    expect(v2.cells).to.have.length(1);
    const imported = await readHistoryRunInput(recordedResults("a-a"));
    expect(imported.sourceRun).to.match(/^import\//);
    expect(imported.cells.map((c) => c.kernel.label)).to.deep.equal(["a", "b"]);
  });

  it("refuses a directory that is not a results directory (exit 2)", async () => {
    await readHistoryRunInput(dir).then(
      () => expect.fail("must refuse"),
      (error: unknown) => {
        expect(error).to.be.instanceOf(UsageError);
        expect((error as Error).message).to.match(/is empty|not a balloon-bench results/);
      },
    );
  });
});
