import { expect } from "chai";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFile, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../../../src/core/errors.js";
import { recordsFromRun } from "../../../src/core/history/history-record.js";
import { appendToStore, readStore } from "../../../src/machine/history/history-store.js";
import { cell, run } from "../../core/history/fixtures.js";
import { selfIdentity } from "../../../src/util/process-identity.js";
import { bigRun } from "./big-run.js";
import { tempHistoryStore } from "../../helpers/temp-store.js";

const HELPER = fileURLToPath(new URL("./append-forever.ts", import.meta.url));

async function fingerprint(path: string): Promise<string> {
  const bytes = await readFile(path);
  const { mtimeMs } = await stat(path);
  return `${createHash("sha256").update(bytes).digest("hex")}@${mtimeMs}`;
}

function nightRecords(night: number) {
  return recordsFromRun(run(night, [cell(1000 + night), cell(900, { kernel: "series-v9" })]))
    .records;
}

describe("history store file", function () {
  this.timeout(60_000);
  const tmp = tempHistoryStore("bb-history-");

  it("creates the store, appends, and reads every record back in order", async () => {
    const first = await appendToStore(tmp.store, nightRecords(0));
    expect(first).to.include({ added: 2, alreadyPresent: 0, created: true });
    const second = await appendToStore(tmp.store, nightRecords(1));
    expect(second).to.include({ added: 2, created: false });
    const { records, notes } = await readStore(tmp.store);
    expect(records).to.deep.equal([...nightRecords(0), ...nightRecords(1)]);
    expect(notes).to.deep.equal([]);
    const text = await readFile(tmp.store, "utf8");
    expect(text.split("\n")[0]).to.equal('{"format":"balloon-bench-history","schema":1}');
    expect(text.endsWith("\n")).to.equal(true);
    await stat(`${tmp.store}.lock`).then(
      () => expect.fail("the lock file must be gone"),
      () => undefined,
    );
  });

  it("adds nothing when the same run is added again: the file stays byte for byte", async () => {
    await appendToStore(tmp.store, nightRecords(0));
    const before = await fingerprint(tmp.store);
    const again = await appendToStore(tmp.store, nightRecords(0));
    expect(again).to.include({ added: 0, alreadyPresent: 2, conflicting: 0 });
    expect(await fingerprint(tmp.store)).to.equal(before);
  });

  it("writes the same bytes for the same runs, whatever order they come in", async () => {
    const other = join(tmp.dir, "other.jsonl");
    await appendToStore(tmp.store, [...nightRecords(0), ...nightRecords(1)]);
    await appendToStore(other, [...nightRecords(1), ...nightRecords(0)].reverse());
    expect(await readFile(other, "utf8")).to.equal(await readFile(tmp.store, "utf8"));
  });

  it("survives a torn last line: readers ignore it and say so, the next add cuts it off", async () => {
    await appendToStore(tmp.store, nightRecords(0));
    const intact = await readFile(tmp.store, "utf8");
    await appendFile(tmp.store, '{"schema":1,"id":"0123');
    const read = await readStore(tmp.store);
    expect(read.records).to.deep.equal(nightRecords(0));
    expect(read.notes).to.have.length(1);
    expect(read.notes[0], read.notes[0]).to.match(/ignored a torn last line \(line 4, 22 bytes\)/);
    const added = await appendToStore(tmp.store, nightRecords(1));
    expect(added.added).to.equal(2);
    expect(added.notes.join()).to.match(/removed a torn last line \(22 bytes\)/);
    const text = await readFile(tmp.store, "utf8");
    expect(text.startsWith(intact)).to.equal(true);
    expect((await readStore(tmp.store)).records).to.have.length(4);
  });

  it("keeps every earlier record when an append is killed mid-way (SIGKILL)", async function () {
    const child = spawn(process.execPath, ["--import", "tsx", HELPER, tmp.store], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let completed = -1;
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      for (const line of chunk.split("\n")) if (line !== "") completed = Number(line);
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    while (completed < 3) await new Promise((r) => setTimeout(r, 20));
    // Kill it at an arbitrary moment of a later append.
    await new Promise((r) => setTimeout(r, 7 + Math.floor(Math.random() * 40)));
    child.kill("SIGKILL");
    await exited;

    const read = await readStore(tmp.store);
    const perNight = recordsFromRun(bigRun(0)).records.length;
    // Every append that reported success is complete; a killed one left whole lines or a torn tail.
    expect(read.records.length).to.be.at.least((completed + 1) * perNight);
    for (let night = 0; night <= completed; night++) {
      const expected = recordsFromRun(bigRun(night)).records;
      expect(read.records.slice(night * perNight, (night + 1) * perNight)).to.deep.equal(expected);
    }
    // The next add (the lock of the dead process is taken over) completes the interrupted night.
    const next = completed + 1;
    await appendToStore(tmp.store, recordsFromRun(bigRun(next)).records);
    const after = await readStore(tmp.store);
    expect(after.notes).to.deep.equal([]);
    expect(after.records.length).to.equal((next + 1) * perNight);
  });

  it("takes back an append cut short mid-line (full disk, file size limit)", async () => {
    // bash's ulimit -f makes the third append's write fail part-way (EFBIG), as ENOSPC would.
    const child = spawn(
      "bash",
      [
        "-c",
        'ulimit -f 800 && exec "$0" --import tsx "$1" "$2"',
        process.execPath,
        HELPER,
        tmp.store,
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => (stderr += chunk));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).to.equal(1);
    expect(stderr).to.contain("EFBIG");
    const perNight = recordsFromRun(bigRun(0)).records.length;
    const read = await readStore(tmp.store);
    expect(read.notes).to.deep.equal([]);
    expect(read.records.length % perNight).to.equal(0);
    expect((await readFile(tmp.store, "utf8")).endsWith("\n")).to.equal(true);
    const nights = read.records.length / perNight;
    expect(nights).to.be.at.least(1);
    const next = await appendToStore(tmp.store, recordsFromRun(bigRun(nights)).records);
    expect(next.added).to.equal(perNight);
  });

  it("refuses a store written by a newer schema and leaves it untouched", async () => {
    await appendToStore(tmp.store, nightRecords(0));
    const text = await readFile(tmp.store, "utf8");
    await writeFile(tmp.store, text.replace('"schema":1}', '"schema":2}'));
    const before = await fingerprint(tmp.store);
    await appendToStore(tmp.store, nightRecords(1)).then(
      () => expect.fail("must refuse"),
      (error: unknown) => {
        expect(error).to.be.instanceOf(UsageError);
        expect((error as UsageError).message).to.match(/written by a newer balloon-bench/);
      },
    );
    expect(await fingerprint(tmp.store)).to.equal(before);
  });

  it("refuses a corrupted line in the middle, naming it, and leaves the store untouched", async () => {
    await appendToStore(tmp.store, [...nightRecords(0), ...nightRecords(1)]);
    const lines = (await readFile(tmp.store, "utf8")).split("\n");
    lines[2] = `${lines[2]!.slice(0, 50)}}`;
    await writeFile(tmp.store, lines.join("\n"));
    const before = await fingerprint(tmp.store);
    for (const attempt of [
      () => readStore(tmp.store),
      () => appendToStore(tmp.store, nightRecords(2)),
    ]) {
      await attempt().then(
        () => expect.fail("must refuse"),
        (error: unknown) => {
          expect(error).to.be.instanceOf(UsageError);
          expect((error as UsageError).message).to.match(/is corrupted at line 3: not JSON/);
          expect((error as UsageError).hint).to.match(/delete line 3/);
        },
      );
    }
    expect(await fingerprint(tmp.store)).to.equal(before);
  });

  it("refuses a missing store for reading and a store locked by a live add", async () => {
    await readStore(tmp.store).then(
      () => expect.fail("must refuse"),
      (error: unknown) => expect((error as Error).message).to.match(/does not exist/),
    );
    await writeFile(`${tmp.store}.lock`, `${JSON.stringify(await selfIdentity())}\n`);
    await appendToStore(tmp.store, nightRecords(0)).then(
      () => expect.fail("must refuse"),
      (error: unknown) => {
        expect(error).to.be.instanceOf(UsageError);
        expect((error as Error).message).to.match(/locked by another history add \(pid \d+\)/);
      },
    );
    await stat(tmp.store).then(
      () => expect.fail("nothing may be created"),
      () => undefined,
    );
    // A lock whose process is gone is taken over.
    await writeFile(`${tmp.store}.lock`, `${JSON.stringify({ pid: process.pid, startTime: 1 })}\n`);
    expect((await appendToStore(tmp.store, nightRecords(0))).added).to.equal(2);
  });
});
