import { expect } from "chai";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { recordsFromRun } from "../../../src/core/history/history-record.js";
import { historyChanges } from "../../../src/experiment/history/history-changes.js";
import { appendToStore } from "../../../src/machine/history/history-store.js";
import { historyRunInputs, seededHistory } from "../../../src/core/history/synthetic-history.js";
import { runCli } from "../../helpers/cli.js";
import { laterNight, recordedResults } from "../../helpers/history-fixtures.js";
import { tempHistoryStore } from "../../helpers/temp-store.js";

interface ChangesJson {
  series: {
    id: string;
    nights: number;
    splits: { index: number; kind: string; reason: string }[];
    changes: { index: number; method: string; deltaPercent: number; p: number }[];
  }[];
  gate: { gating: boolean; failed: boolean };
}

describe("balloon-bench history changes (the real CLI)", function () {
  this.timeout(120_000);
  const tmp = tempHistoryStore("bb-history-changes-");

  it("splits a series where the fingerprint or the negotiated bits change, saying why", async () => {
    const nights = [recordedResults("thp-boots")];
    for (const day of [1, 2]) nights.push(await laterNight("thp-boots", tmp.dir, day));
    nights.push(
      await laterNight("thp-boots", tmp.dir, 3, (m) => ({
        ...m,
        fingerprint: { ...m.fingerprint, hostKernel: "6.19.1" },
      })),
    );
    nights.push(
      await laterNight("thp-boots", tmp.dir, 4, (m) => ({
        ...m,
        fingerprint: { ...m.fingerprint, hostKernel: "6.19.1" },
        cells: m.cells.map((c) =>
          c.kernelName === "thp-never" && c.features !== undefined
            ? { ...c, features: { ...c.features, negotiatedSysfs: [1] } }
            : c,
        ),
      })),
    );
    const added = await runCli(["history", "add", ...nights, "--store", tmp.store]);
    expect(added.exitCode, added.stderr).to.equal(0);

    const text = await runCli(["history", "changes", "--store", tmp.store]);
    expect(text.exitCode, text.stderr).to.equal(0);
    expect(text.stdout).to.match(
      /split {3}night 3 {2}2026-12-04 {2}fingerprint changed: hostKernel "6.18.44-fc-v657" → "6.19.1" \(a new segment, not a performance change\)/,
    );
    expect(text.stdout).to.match(
      /split {3}night 4 {2}2026-12-05 {2}negotiated bits changed: 1,5 → 1 /,
    );

    const json = await runCli(["history", "changes", "--store", tmp.store, "--format", "json"]);
    const parsed = JSON.parse(json.stdout) as ChangesJson;
    const never = parsed.series.find((s) => s.id.startsWith("thp-never"))!;
    expect(never.nights).to.equal(5);
    expect(never.splits.map((s) => [s.index, s.kind])).to.deep.equal([
      [3, "fingerprint"],
      [4, "negotiated-bits"],
    ]);
    const always = parsed.series.find((s) => s.id.startsWith("thp-always"))!;
    expect(always.splits.map((s) => [s.index, s.kind])).to.deep.equal([[3, "fingerprint"]]);
    expect(parsed.series.flatMap((s) => s.changes)).to.deep.equal([]);
    expect(json.stdout).to.not.match(/NaN|Infinity/);
  });

  it("refuses a filter that matches nothing and a malformed option: one line, exit 2", async () => {
    await runCli(["history", "add", recordedResults("thp-boots"), "--store", tmp.store]);
    const before = await readFile(tmp.store);
    for (const [args, pattern] of [
      [["--series", "metric=nope"], /--series "metric=nope" matches none of the 2 series/],
      [["--series", "colour=red"], /unknown field "colour"/],
      [["--format", "xml"], /unknown --format 'xml'/],
      [["--fail-on-regression", "lots"], /--fail-on-regression takes a number/],
      [["--significance", "2"], /--significance must be between 0 and 1/],
    ] as const) {
      const result = await runCli(["history", "changes", "--store", tmp.store, ...args]);
      expect(result.exitCode, args.join(" ")).to.equal(2);
      const lines = result.stderr.trim().split("\n");
      expect(lines, result.stderr).to.have.length(1);
      expect(lines[0]).to.match(pattern);
    }
    expect(await readFile(tmp.store)).to.deep.equal(before);
  });

  it("--fail-on-regression: exit 1 on the night a regression arrives, with method, delta and p", async () => {
    // mainline steps up 10 % at night 50: find the night the detector first sees it.
    const runs = historyRunInputs(
      seededHistory(3, 70, [{ kind: "step", night: 50, relative: 0.1 }]),
    );
    let night = 51;
    for (; night < 70; night++) {
      const probe = join(tmp.dir, `probe-${night}.jsonl`);
      await appendToStore(
        probe,
        runs.slice(0, night).flatMap((r) => recordsFromRun(r).records),
      );
      if ((await historyChanges(probe, undefined, { failOnRegression: 5 })).exitCode === 1) break;
    }
    expect(night).to.be.below(57);
    await appendToStore(
      tmp.store,
      runs.slice(0, night).flatMap((r) => recordsFromRun(r).records),
    );
    const summary = join(tmp.dir, "summary.md");
    await writeFile(summary, "");
    const gate = await runCli(
      ["history", "changes", "--store", tmp.store, "--fail-on-regression", "5"],
      { GITHUB_STEP_SUMMARY: summary },
    );
    expect(gate.exitCode).to.equal(1);
    expect(gate.stderr).to.match(/gate failed: a new regression in the history/);
    expect(gate.stdout).to.match(/change {2}night 50 .* \+\d+\.\d % {2}p=\S+ {2}regression/);
    expect(gate.stdout).to.match(/: FAIL, 1 new regression\(s\)/);
    const markdown = await readFile(summary, "utf8");
    expect(markdown).to.match(/### History: change points new since the last night/);
    expect(markdown).to.match(/\| mainline · bits-5-6 · alloc_once-256M · task-clock \| 50 \|/);
    expect(markdown).to.match(/Method: e-divisive change point, Student's t-test/);
    const json = await runCli(["history", "changes", "--store", tmp.store, "--format", "json"]);
    expect(json.exitCode).to.equal(0);
    const parsed = JSON.parse(json.stdout) as ChangesJson;
    const [change] = parsed.series[0]!.changes;
    expect(change!.index).to.equal(50);
    expect(change!.method).to.match(/^e-divisive change point, Student's t-test/);
    expect(change!.deltaPercent).to.be.within(5, 15);
    expect(change!.p).to.be.below(0.01);
    expect(parsed.gate).to.include({ gating: false, failed: false });
    const higher = await runCli([
      "history",
      "changes",
      "--store",
      tmp.store,
      "--fail-on-regression",
      "5",
      "--direction",
      "task-clock=higher",
    ]);
    expect(higher.exitCode).to.equal(0);
  });
});
