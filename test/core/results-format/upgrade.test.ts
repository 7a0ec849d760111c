import { readFileSync } from "node:fs";
import { expect } from "chai";
import { UsageError } from "../../../src/core/errors.js";
import { cellViews, manifestSchema } from "../../../src/core/results-format/manifest.js";
import { parseManifest } from "../../../src/core/results-format/upgrade.js";
import { runManifest } from "../../helpers/manifests.js";

const fixture = (name: string): unknown =>
  JSON.parse(
    readFileSync(new URL(`../../fixtures/results/${name}/manifest.json`, import.meta.url), "utf8"),
  );

describe("results format: one schema, older manifests upgraded on read", () => {
  it("reads a current manifest as it is", () => {
    const manifest = runManifest();
    expect(parseManifest(JSON.parse(JSON.stringify(manifest)), "m.json")).to.deep.equal(manifest);
  });

  it("upgrades a schema-2 run (recorded) to a run manifest that resume and merge can use", () => {
    const manifest = parseManifest(fixture("v2-run"), "v2/manifest.json");
    expect(manifest.kind).to.equal("run");
    if (manifest.kind !== "run") return;
    expect(manifest.boots.map((b) => [b.id, b.status])).to.deep.equal([
      ["stock__bits-5__r1", "complete"],
      ["stock__bits-5__r2", "complete"],
    ]);
    expect(manifest.fingerprint.qemuVersion).to.equal("7.2.22");
  });

  it("turns a schema-1 run (the first version's recorded results) into compare-only cells", () => {
    const manifest = parseManifest(fixture("init-on-alloc"), "ioa/manifest.json");
    expect(manifest).to.include({ kind: "import", upgradedFrom: 1 });
    expect(cellViews(manifest)).to.deep.equal([
      {
        id: "ioa__bits-5__alloc_once-128M",
        kernel: "ioa",
        config: "bits-5",
        workload: "alloc_once-128M",
        status: "complete",
        requestedBits: [5],
        negotiatedBits: [1, 5],
        environment: { accelerator: "tcg", qemuVersion: "7.2.22", cpuModel: "AMD EPYC" },
      },
      {
        id: "noioa__bits-5__alloc_once-128M",
        kernel: "noioa",
        config: "bits-5",
        workload: "alloc_once-128M",
        status: "complete",
        requestedBits: [5],
        negotiatedBits: [1, 5],
        environment: { accelerator: "tcg", qemuVersion: "7.2.22", cpuModel: "AMD EPYC" },
      },
    ]);
    expect(manifestSchema.safeParse(manifest).success).to.equal(true);
  });

  it("turns a schema-1 import into an import manifest", () => {
    const manifest = parseManifest(
      {
        schema: 1,
        tool: { name: "balloon-bench", version: "0.1.0" },
        createdAt: "2026-11-20T00:00:00.000Z",
        cells: [
          {
            id: "manual__baseline__alloc_once-256M",
            kernel: { name: "manual" },
            config: { name: "baseline" },
            workload: "alloc_once-256M",
            status: "complete",
            imported: { from: "/tmp/perf.csv", runs: 10, accelerator: "kvm" },
          },
        ],
      },
      "imp/manifest.json",
    );
    expect(cellViews(manifest)[0]).to.deep.include({
      kernel: "manual",
      environment: { accelerator: "kvm", qemuVersion: "unknown", cpuModel: "unknown" },
    });
  });

  it("refuses a newer schema, a damaged manifest and something else, naming the file", () => {
    expect(() => parseManifest({ schema: 9 }, "new/manifest.json")).to.throw(
      UsageError,
      "new/manifest.json was written by a newer balloon-bench (results schema 9; this one reads up to 3)",
    );
    const damaged = { ...runManifest(), boots: [{ id: "b" }] };
    expect(() => parseManifest(damaged, "d/manifest.json")).to.throw(
      UsageError,
      /^d\/manifest\.json is damaged or not a results manifest: boots\.0\.round: /,
    );
    expect(() => parseManifest([1, 2], "x.json")).to.throw(
      UsageError,
      "x.json is not a balloon-bench manifest (no schema number)",
    );
  });
});
