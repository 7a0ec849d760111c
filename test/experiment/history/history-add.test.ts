import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../../src/core/errors.js";
import { historyAdd } from "../../../src/experiment/history/history-add.js";
import { nights } from "./two-kernel-nights.js";

describe("history add", function () {
  this.timeout(60_000);
  let dir: string;
  let store: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-history-cmd-"));
    store = join(dir, "history.jsonl");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("adds runs, and adding them again adds nothing", async () => {
    const first = await historyAdd(store, nights(5));
    expect(first.added).to.equal(10);
    expect(first.text).to.match(/added 10 record\(s\) from 5 run\(s\) \(new store\)/);
    const again = await historyAdd(store, nights(5));
    expect(again.added).to.equal(0);
    expect(again.alreadyPresent).to.equal(10);
    expect(again.text).to.match(/added 0 record\(s\) from 5 run\(s\), 10 already there/);
    await historyAdd(store, []).then(
      () => expect.fail("must refuse"),
      (error: unknown) => expect(error).to.be.instanceOf(UsageError),
    );
  });
});
