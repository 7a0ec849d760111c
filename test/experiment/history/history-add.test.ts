import { expect } from "chai";
import { UsageError } from "../../../src/core/errors.js";
import { historyAdd } from "../../../src/experiment/history/history-add.js";
import { nights } from "./two-kernel-nights.js";
import { tempHistoryStore } from "../../helpers/temp-store.js";

describe("history add", function () {
  this.timeout(60_000);
  const tmp = tempHistoryStore("bb-history-cmd-");

  it("adds runs, and adding them again adds nothing", async () => {
    const first = await historyAdd(tmp.store, nights(5));
    expect(first.added).to.equal(10);
    expect(first.text).to.match(/added 10 record\(s\) from 5 run\(s\) \(new store\)/);
    const again = await historyAdd(tmp.store, nights(5));
    expect(again.added).to.equal(0);
    expect(again.alreadyPresent).to.equal(10);
    expect(again.text).to.match(/added 0 record\(s\) from 5 run\(s\), 10 already there/);
    await historyAdd(tmp.store, []).then(
      () => expect.fail("must refuse"),
      (error: unknown) => expect(error).to.be.instanceOf(UsageError),
    );
  });
});
