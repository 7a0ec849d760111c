import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import type { Sample } from "../../src/core/results-format/sample.js";
import { runCli } from "../helpers/cli.js";

const MiB = 1024 * 1024;

/**
 * Evidence that free page reporting worked, from the host: QEMU's RSS across the settle, with
 * reporting offered (bit 5) and without, and the host-side settle that ends when RSS goes quiet.
 * Real QEMU 7.2 and Debian's kernel under TCG. The limit is long (8 s) so that a loaded host,
 * which slows the guest's 2 s reporting delay in wall time, still ends the settle by quiet.
 */
describe("device work: QEMU's RSS across the settle, and the rss settle mode @integration", function () {
  this.timeout(900_000);
  let dir: string;
  let out: string;
  let run: Awaited<ReturnType<typeof runCli>>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-devwork-"));
    const plan = join(dir, "plan.yaml");
    await writeFile(
      plan,
      `iterations: 2
warmup: 1
rounds: 1
seed: 3
settleMs: 8000
settleMode: rss
accelerator: tcg
events: [task-clock]
vm: { memoryMiB: 1024, vcpus: 1 }
configs: [{ name: reporting, bits: [5] }, { name: no-reporting, bits: [1] }]
workloads: [{ size: 128 }]
`,
    );
    out = join(dir, "results");
    run = await runCli(["run", "--plan", plan, "--out", out]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function samplesOf(config: string): Promise<Sample[]> {
    const cells = await readdir(join(out, "cells"));
    const cell = cells.find((c) => c.includes(`__${config}__`));
    const text = await readFile(join(out, "cells", cell ?? "?", "samples.jsonl"), "utf8");
    return text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Sample)
      .filter((s) => !s.warmup);
  }

  it("with reporting, RSS falls by about what alloc_once freed and the settle ends quiet, early", async () => {
    expect(run.exitCode, run.stderr).to.equal(0);
    for (const sample of await samplesOf("reporting")) {
      const rss = sample.telemetry?.settleRss;
      expect(rss, "settleRss recorded").not.to.equal(undefined);
      // alloc_once 128 MiB freed at the end of the previous iteration or the warm-up (a boot's
      // first iteration follows no free: the warm-up takes that one).
      expect(((rss?.beforeBytes ?? 0) - (rss?.afterBytes ?? 0)) / MiB).to.be.above(64);
      expect(sample.settle).to.include({ method: "rss", maxMs: 8000, endedBy: "quiet" });
      expect(sample.settle.waitedMs).to.be.below(8000);
    }
  });

  it("without reporting, RSS does not fall and the settle waits its whole limit", async () => {
    for (const sample of await samplesOf("no-reporting")) {
      const rss = sample.telemetry?.settleRss;
      expect(((rss?.beforeBytes ?? 0) - (rss?.afterBytes ?? 0)) / MiB).to.be.below(16);
      expect(sample.settle).to.include({ method: "rss", endedBy: "limit" });
    }
  });

  it("compare --device-work shows what each config gave back", async () => {
    const result = await runCli(["compare", out, "--device-work", "--format", "json"]);
    expect([0, 3], result.stderr).to.include(result.exitCode);
    const report = JSON.parse(result.stdout) as {
      comparisons: { metric: string; baseline: { mean: number }; candidate: { mean: number } }[];
    };
    const settle = report.comparisons.find((c) => c.metric === "device.settle-released-MiB");
    const means = [settle?.baseline.mean ?? NaN, settle?.candidate.mean ?? NaN].sort(
      (a, b) => a - b,
    );
    expect(means[0]).to.be.below(16);
    expect(means[1]).to.be.above(64);
  });
});
