import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { UsageError } from "../../../src/core/errors.js";
import { historyAdd } from "../../../src/experiment/history/history-add.js";
import { historyChanges } from "../../../src/experiment/history/history-changes.js";
import { firstDetection, nights } from "./two-kernel-nights.js";
import { tempHistoryStore } from "../../helpers/temp-store.js";

/** As the nightly runs it: `history changes --fail-on-regression 5`. */
const GATE = { failOnRegression: 5 };

describe("history changes", function () {
  this.timeout(60_000);
  const tmp = tempHistoryStore("bb-history-cmd-");

  it("fails the gate (exit 1) on the night a regression appears, passes the night after", async () => {
    const n = firstDetection();
    await historyAdd(tmp.store, nights(n - 1));
    const quiet = await historyChanges(tmp.store, undefined, GATE);
    expect(quiet.exitCode).to.equal(0);

    await historyAdd(tmp.store, nights(n));
    const result = await historyChanges(tmp.store, undefined, GATE);
    expect(result.exitCode).to.equal(1);
    expect(result.text).to.match(
      /change {2}night 50 {2}2026-10-21 {2}\d+ → \d+ {2}\+\d+\.\d % {2}p=\S+ {2}regression/,
    );
    expect(result.text).to.match(/: FAIL, 1 new regression\(s\)/);
    expect(result.markdown).to.match(
      /\| mainline · bits-5-6 · alloc_once-256M · task-clock \| 50 \|/,
    );
    const json = result.json as {
      series: {
        id: string;
        changes: { index: number; direction: string; deltaPercent: number }[];
      }[];
      gate: { failed: boolean; regressions: { index: number }[] };
    };
    expect(json.series.map((s) => s.id)).to.deep.equal([
      "mainline · bits-5-6 · alloc_once-256M · task-clock",
      "series-v9 · bits-5-6 · alloc_once-256M · task-clock",
    ]);
    expect(json.series[0]!.changes.map((c) => [c.index, c.direction])).to.deep.equal([
      [50, "regression"],
    ]);
    expect(json.series[1]!.changes).to.deep.equal([]);
    expect(json.gate.failed).to.equal(true);
    // Without --fail-on-regression the same night is reported, and exits 0.
    const report = await historyChanges(tmp.store, undefined);
    expect(report.exitCode).to.equal(0);
    expect(report.text).to.match(/1 change point\(s\), 1 of them a regression .* \(no gate/);
    expect(json.gate.regressions.map((c) => c.index)).to.deep.equal([50]);

    // The filter selects series; the gate then only sees them.
    const other = await historyChanges(tmp.store, "kernel=series-v9", GATE);
    expect(other.exitCode).to.equal(0);
    // A higher-is-better metric turns the same change into an improvement.
    const better = await historyChanges(tmp.store, undefined, {
      ...GATE,
      higherIsBetter: ["task-clock"],
    });
    expect(better.exitCode).to.equal(0);

    await historyAdd(tmp.store, nights(n + 1));
    expect((await historyChanges(tmp.store, undefined, GATE)).exitCode).to.equal(0);
    const wider = await historyChanges(tmp.store, undefined, { ...GATE, gate: { lastNights: 2 } });
    expect(wider.exitCode).to.equal(1);
  });

  it("refuses a filter that matches nothing, bad options and a missing store (exit 2)", async () => {
    await historyChanges(tmp.store, undefined).then(
      () => expect.fail("must refuse"),
      (error: unknown) => expect((error as Error).message).to.match(/does not exist/),
    );
    await historyAdd(tmp.store, nights(3));
    const before = await readFile(tmp.store);
    for (const [filter, options, message] of [
      ["kernel=nope", {}, /matches none of the 2 series/],
      [undefined, { gate: { lastNights: 0 } }, /lastNights must be an integer of at least 1/],
      [undefined, { detector: { maxPValue: 2 } }, /--significance must be between 0 and 1/],
    ] as const) {
      await historyChanges(tmp.store, filter, options).then(
        () => expect.fail("must refuse"),
        (error: unknown) => {
          expect(error).to.be.instanceOf(UsageError);
          expect((error as Error).message).to.match(message);
        },
      );
    }
    expect(await readFile(tmp.store)).to.deep.equal(before);
  });
});
