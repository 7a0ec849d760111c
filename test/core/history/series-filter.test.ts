import { expect } from "chai";
import { UsageError } from "../../../src/core/errors.js";
import { buildSeries } from "../../../src/core/history/history-series.js";
import { parseSeriesFilter, selectSeries } from "../../../src/core/history/series-filter.js";
import { cell, records, run } from "./fixtures.js";

describe("history --series filter", () => {
  it("selects series with --series FILTER and refuses a filter that matches nothing", () => {
    const series = buildSeries(
      records([
        run(0, [
          cell(1000, { kernel: "mainline" }),
          cell(900, { kernel: "series-v9", config: "bits-5" }),
        ]),
      ]),
    );
    const ids = (f: string) => selectSeries(series, parseSeriesFilter(f)).map((s) => s.key.kernel);
    expect(ids("kernel=series-*")).to.deep.equal(["series-v9"]);
    expect(ids("config=bits-5,metric=task-clock")).to.deep.equal(["series-v9"]);
    expect(ids("MAINLINE")).to.deep.equal(["mainline"]);
    expect(ids("metric=task*")).to.have.length(2);
    expect(() => ids("kernel=nope"))
      .to.throw(UsageError, /--series "kernel=nope" matches none of the 2 series/)
      .with.property("hint")
      .that.contains("mainline · bits-5-6 · alloc_once-256M · task-clock");
    expect(() => parseSeriesFilter("colour=red")).to.throw(UsageError, /unknown field "colour"/);
    expect(() => parseSeriesFilter(" , ")).to.throw(UsageError, /empty/);
  });
});
