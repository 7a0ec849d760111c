import { expect } from "chai";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../../../src/core/errors.js";
import { historyAdd } from "../../../src/experiment/history/history-add.js";
import { historyReport } from "../../../src/experiment/history/history-report.js";
import { nights } from "./two-kernel-nights.js";
import { tempHistoryStore } from "../../helpers/temp-store.js";

describe("history report", function () {
  this.timeout(60_000);
  const tmp = tempHistoryStore("bb-history-cmd-");

  it("writes the offline HTML report", async () => {
    await historyAdd(tmp.store, nights(60));
    const out = join(tmp.dir, "report.html");
    const result = await historyReport(tmp.store, out);
    expect(result.text).to.match(
      /^history report .*report\.html: 2 series, 1 change point\(s\), \d+ KiB, works offline/,
    );
    const html = await readFile(out, "utf8");
    expect(html).to.contain("mainline · bits-5-6 · alloc_once-256M · task-clock");
    expect((await stat(out)).size).to.equal(result.bytes);
    await historyReport(tmp.store, join(tmp.dir, "missing", "r.html")).then(
      () => expect.fail("must refuse"),
      (error: unknown) => expect(error).to.be.instanceOf(UsageError),
    );
  });
});
