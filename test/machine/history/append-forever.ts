/**
 * Test helper program: appends one synthetic run after another to the store named by argv[2]
 * until it is killed (the "killed append" test SIGKILLs it mid-way). Each run is large so that a
 * kill can land inside a write.
 */
import { recordsFromRun } from "../../../src/core/history/history-record.js";
import { appendToStore } from "../../../src/machine/history/history-store.js";
import { bigRun } from "./big-run.js";

const store = process.argv[2]!;
for (let night = 0; ; night++) {
  await appendToStore(store, recordsFromRun(bigRun(night)).records);
  process.stdout.write(`${night}\n`);
}
