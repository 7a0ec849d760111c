import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { UsageError } from "../../src/core/errors.js";
import type { Sample } from "../../src/core/results-format/sample.js";
import { ManifestStore } from "../../src/experiment/manifest-store.js";
import { ResultsDir } from "../../src/experiment/results-dir.js";
import { runManifest } from "../helpers/manifests.js";

function sample(iteration: number): Sample {
  return {
    schema: 1,
    cell: "a",
    kernel: "k",
    config: "bits-5",
    workload: "alloc_once-16M",
    iteration,
    warmup: false,
    startedAt: "2026-12-01T10:00:00Z",
    wallMs: 2000,
    settle: { method: "sleep", sleptMs: 200 },
    counters: { "task-clock": { status: "counted", value: 150, unit: "msec" } },
  };
}

/** Faults the reliability campaign found in the results directory (issue 13, cases 2, 6, 7). */
describe("results directory under faults", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-faults-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("repairs a torn last samples line on resume: kept aside, cut off, the next append on its own line", async () => {
    const results = await ResultsDir.create(join(dir, "out"));
    await results.appendSample(sample(1));
    const file = join(results.path, "cells", "a", "samples.jsonl");
    await appendFile(file, '{"schema":1,"cell":"a","iter');
    const said = await results.repairTornTail("a");
    expect(said).to.match(
      /samples\.jsonl: its last line was cut short .* kept aside as .*samples\.jsonl\.torn-/,
    );
    expect(await results.repairTornTail("a")).to.equal(undefined);
    await results.appendSample(sample(2));
    expect((await results.readSamples("a")).map((s) => s.iteration)).to.deep.equal([1, 2]);
    const aside = (await readdir(join(results.path, "cells", "a"))).find((n) =>
      n.includes(".torn-"),
    );
    expect(await readFile(join(results.path, "cells", "a", aside ?? "?"), "utf8")).to.equal(
      '{"schema":1,"cell":"a","iter',
    );
  });

  it("refuses a bad line that is not the last, naming file and line", async () => {
    const results = await ResultsDir.create(join(dir, "out"));
    await results.appendSample(sample(1));
    const file = join(results.path, "cells", "a", "samples.jsonl");
    await appendFile(file, "garbage\n");
    await results.appendSample(sample(2));
    const error = await results.readSamples("a").catch((e: unknown) => e);
    expect(error).to.be.instanceOf(UsageError);
    expect((error as Error).message).to.equal(`${file}:2: not a JSON line`);
  });

  it("a line that is JSON but not a sample is named with the field at fault", async () => {
    const results = await ResultsDir.create(join(dir, "out"));
    const file = join(await results.cellDir("a"), "samples.jsonl");
    await writeFile(file, `${JSON.stringify({ ...sample(1), wallMs: "slow" })}\n`);
    const error = await results.readSamples("a").catch((e: unknown) => e);
    expect((error as Error).message).to.match(new RegExp(`^${file}:1: not a sample \\(wallMs: `));
  });

  it("a truncated manifest.json is an error naming the file, not an internal error", async () => {
    const out = join(dir, "out");
    const results = await ResultsDir.create(out);
    await results.writeManifest(runManifest());
    const text = await readFile(join(out, "manifest.json"), "utf8");
    await writeFile(join(out, "manifest.json"), text.slice(0, text.length / 2));
    const error = await ResultsDir.createOrOpen(out).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(UsageError);
    expect((error as Error).message).to.contain(join(out, "manifest.json"));
  });

  it("on resume, boots the manifest still calls running become interrupted", () => {
    const manifest = runManifest({
      boots: [
        {
          id: "k__bits-5__r1",
          round: 1,
          kernel: "k",
          config: "bits-5",
          logDir: "boots/r1",
          startedAt: "t0",
          status: "complete",
          endedAt: "t1",
        },
        {
          id: "k__bits-5__r2",
          round: 2,
          kernel: "k",
          config: "bits-5",
          logDir: "boots/r2",
          startedAt: "t2",
          status: "running",
        },
      ],
    } as never);
    const store = new ManifestStore(undefined as never, manifest);
    expect(store.reconcile("t9")).to.deep.equal(["k__bits-5__r2"]);
    expect(manifest.boots.map((b) => [b.status, b.endedAt])).to.deep.equal([
      ["complete", "t1"],
      ["interrupted", "t9"],
    ]);
  });

  it("writes nothing half: an atomic manifest write that fails leaves no temporary file", async () => {
    const out = join(dir, "out");
    const results = await ResultsDir.create(out);
    await results.writeManifest(runManifest());
    // A manifest that cannot be serialised (a cycle) fails inside the write.
    const cyclic = runManifest() as unknown as Record<string, unknown>;
    cyclic["self"] = cyclic;
    await results.writeManifest(cyclic as never).catch(() => undefined);
    expect((await readdir(out)).filter((n) => n.includes(".tmp"))).to.deep.equal([]);
    expect(JSON.parse(await readFile(join(out, "manifest.json"), "utf8"))).to.have.property(
      "schema",
    );
  });
});
