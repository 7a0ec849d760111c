import { expect } from "chai";
import { UsageError } from "../../../src/core/errors.js";
import {
  fingerprintHash,
  historyRecordSchema,
  recordsFromRun,
} from "../../../src/core/history/history-record.js";
import { cell, run } from "./fixtures.js";

describe("history records", () => {
  it("summarizes each cell × metric per boot, with the night's level and spread", () => {
    const input = run(0, [
      cell(1000, {
        boots: 3,
        iterations: 2,
        metrics: (b, i) => ({
          "task-clock": [
            [10, 12],
            [20, 22],
            [30, 32],
          ][b]![i]!,
          instructions: 5,
        }),
      }),
    ]);
    const { records, skipped } = recordsFromRun(input);
    expect(skipped).to.deep.equal([]);
    expect(records.map((r) => r.metric)).to.deep.equal(["instructions", "task-clock"]);
    const r = records[1]!;
    expect(historyRecordSchema.parse(r)).to.deep.equal(r);
    expect(r.schema).to.equal(1);
    expect(r.boots).to.deep.equal([
      { boot: "boot-1", n: 2, mean: 11 },
      { boot: "boot-2", n: 2, mean: 21 },
      { boot: "boot-3", n: 2, mean: 31 },
    ]);
    expect(r.nBoots).to.equal(3);
    expect(r.nIterations).to.equal(6);
    expect(r.nMissing).to.equal(0);
    expect(r.mean).to.equal(21);
    expect(r.sdBoots).to.equal(10);
    expect(r.median).to.equal(21);
    expect(r.kernel).to.deep.equal({ label: "mainline", sha256: "a".repeat(64) });
    expect(r.config).to.deep.equal({
      name: "bits-5-6",
      requestedBits: [5, 6],
      negotiatedBits: [1, 5, 6],
    });
    expect(r.qemuVersion).to.equal("9.2.0");
    expect(r.accelerator).to.equal("kvm");
    expect(r.sourceRun).to.equal(input.sourceRun);
    expect(r.date).to.equal(input.date);
    expect(r.id).to.match(/^[0-9a-f]{32}$/);
  });

  it("gives stable ids from source run + cell + metric", () => {
    const a = recordsFromRun(run(0, [cell(1000)])).records;
    const b = recordsFromRun(run(0, [cell(2000)])).records;
    const c = recordsFromRun(run(1, [cell(1000)])).records;
    expect(a.map((r) => r.id)).to.deep.equal(b.map((r) => r.id));
    expect(a[0]!.id).to.not.equal(c[0]!.id);
  });

  it("counts missing values and skips a metric no iteration counted", () => {
    const input = run(0, [
      cell(1000, {
        metrics: (b, i) => ({
          "task-clock": b === 0 && i === 0 ? null : 100,
          "cache-misses": null,
        }),
      }),
    ]);
    const { records, skipped } = recordsFromRun(input);
    expect(records).to.have.length(1);
    expect(records[0]!.nMissing).to.equal(1);
    expect(records[0]!.boots[0]!.n).to.equal(1);
    expect(skipped).to.deep.equal([
      {
        cell: "mainline · bits-5-6 · alloc_once-256M",
        metric: "cache-misses",
        reason: "no iteration has a value",
      },
    ]);
  });

  it("hashes the environment, not the kernel build under test", () => {
    const base = {
      hostKernel: "6.1.0",
      cpuModel: "EPYC",
      kernelSha256: "x",
      "kernels.mainline": "y",
    };
    const h = fingerprintHash(base, "9.2.0", "kvm");
    expect(
      fingerprintHash({ ...base, kernelSha256: "z", "kernels.mainline": "w" }, "9.2.0", "kvm"),
    ).to.equal(h);
    expect(
      fingerprintHash({ cpuModel: "EPYC", hostKernel: "6.1.0", kernelSha256: "x" }, "9.2.0", "kvm"),
    ).to.equal(h, "key order and kernel keys do not matter");
    expect(fingerprintHash({ ...base, hostKernel: "6.12.0" }, "9.2.0", "kvm")).to.not.equal(h);
    expect(fingerprintHash(base, "10.0.0", "kvm")).to.not.equal(h);
    expect(fingerprintHash(base, "9.2.0", "tcg")).to.not.equal(h);
  });

  it("refuses input the schema does not describe, naming the field", () => {
    const bad = run(0, [cell(1000)]);
    (bad.cells[0]!.samples[0]!.metrics as Record<string, unknown>)["task-clock"] = "fast";
    expect(() => recordsFromRun(bad))
      .to.throw(UsageError, /cells\.0\.samples\.0\.metrics\.task-clock/)
      .with.property("hint");
    expect(() => recordsFromRun({ ...run(0, [cell(1)]), date: "yesterday" })).to.throw(
      UsageError,
      /date/,
    );
    expect(() => recordsFromRun(run(0, [cell(1000), cell(1000)]))).to.throw(
      UsageError,
      /has the cell mainline · bits-5-6 · alloc_once-256M twice/,
    );
  });
});
