import { expect } from "chai";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCli } from "../../helpers/cli.js";
import { recordedResults } from "../../helpers/history-fixtures.js";
import { tempHistoryStore } from "../../helpers/temp-store.js";

/** One line on stderr, the error and its fix. */
function oneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).to.have.length(1);
  expect(lines[0]).to.match(/^balloon-bench: error: .* \(fix: .+\)$/);
  expect(lines[0]).to.match(pattern);
}

describe("balloon-bench history add (the real CLI on recorded results)", function () {
  this.timeout(60_000);
  const tmp = tempHistoryStore("bb-history-add-");

  it("adds results directories, and adding them again leaves the store byte for byte", async () => {
    const dirs = ["thp-boots", "init-on-alloc-boots", "a-a"].map(recordedResults);
    const first = await runCli(["history", "add", ...dirs, "--store", tmp.store]);
    expect(first.exitCode, first.stderr).to.equal(0);
    expect(first.stdout).to.match(/added 6 record\(s\) from 3 run\(s\) \(new store\)/);
    const lines = (await readFile(tmp.store, "utf8")).trim().split("\n");
    expect(JSON.parse(lines[0]!)).to.deep.equal({ format: "balloon-bench-history", schema: 1 });
    expect(lines).to.have.length(7);
    const before = await readFile(tmp.store);
    const again = await runCli(["history", "add", ...dirs, "--store", tmp.store]);
    expect(again.exitCode).to.equal(0);
    expect(again.stdout).to.match(/added 0 record\(s\) from 3 run\(s\), 6 already there/);
    expect(await readFile(tmp.store)).to.deep.equal(before);
  });

  it("refuses a directory that is not a results directory: one line, exit 2, store untouched", async () => {
    await runCli(["history", "add", recordedResults("thp-boots"), "--store", tmp.store]);
    const before = await readFile(tmp.store);
    const notResults = join(tmp.dir, "not-results");
    await writeFile(join(tmp.dir, "x"), "");
    const result = await runCli([
      "history",
      "add",
      recordedResults("a-a-boots"),
      tmp.dir,
      "--store",
      tmp.store,
    ]);
    expect(result.exitCode).to.equal(2);
    oneLineError(result.stderr, /is not a balloon-bench results directory/);
    expect(await readFile(tmp.store)).to.deep.equal(before);
    const missing = await runCli([
      "history",
      "add",
      notResults,
      "--store",
      join(tmp.dir, "new.jsonl"),
    ]);
    expect(missing.exitCode).to.equal(2);
    oneLineError(missing.stderr, /is not a directory/);
    await stat(join(tmp.dir, "new.jsonl")).then(
      () => expect.fail("no store may be created"),
      () => undefined,
    );
  });

  it("refuses a store of a newer schema and a corrupted store: one line, exit 2, untouched", async () => {
    await runCli(["history", "add", recordedResults("thp-boots"), "--store", tmp.store]);
    const text = await readFile(tmp.store, "utf8");
    const newer = join(tmp.dir, "newer.jsonl");
    await writeFile(newer, text.replace('"schema":1}', '"schema":99}'));
    const corrupted = join(tmp.dir, "corrupted.jsonl");
    const lines = text.split("\n");
    lines[1] = lines[1]!.slice(0, 40);
    await writeFile(corrupted, lines.join("\n"));
    for (const [path, pattern] of [
      [newer, /written by a newer balloon-bench \(schema 99; this one reads 1\).*upgrade/],
      [corrupted, /is corrupted at line 2: not JSON/],
    ] as const) {
      const before = await readFile(path);
      for (const args of [
        ["history", "add", recordedResults("a-a-boots"), "--store", path],
        ["history", "changes", "--store", path],
        ["history", "report", "--store", path, "--out", join(tmp.dir, "r.html")],
      ]) {
        const result = await runCli(args);
        expect(result.exitCode, args.join(" ")).to.equal(2);
        oneLineError(result.stderr, pattern);
        expect(await readFile(path)).to.deep.equal(before);
      }
    }
  });
});
