import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { execa } from "execa";
import { UsageError } from "../../src/core/errors.js";
import { LOCK_FILE, ResultsLock } from "../../src/experiment/results-lock.js";
import { hostname } from "node:os";

describe("ResultsLock: one writer per results directory", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-lock-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses a second holder while the first lives, naming its pid and command", async () => {
    const first = await ResultsLock.acquire(dir, ["balloon-bench", "run", "--out", dir]);
    const error = await ResultsLock.acquire(dir, ["balloon-bench", "run"]).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(UsageError);
    expect((error as Error).message).to.match(
      new RegExp(
        `is being written by balloon-bench pid ${process.pid} \\(since .*: balloon-bench run --out `,
      ),
    );
    await first.release();
    await first.release(); // harmless twice
    const again = await ResultsLock.acquire(dir, ["balloon-bench", "run"]);
    expect(again.tookOverFrom).to.equal(undefined);
    await again.release();
    expect(await stat(join(dir, LOCK_FILE)).catch(() => undefined)).to.equal(undefined);
  });

  it("takes over the lock of a process that is gone, and says whose it was", async () => {
    const gone = await execa("sh", ["-c", "echo $$"]);
    const pid = Number(gone.stdout);
    await writeFile(
      join(dir, LOCK_FILE),
      `${JSON.stringify({ pid, startTime: 1, hostname: hostname(), command: ["balloon-bench", "run"], since: "2026-12-01T00:00:00Z" })}\n`,
    );
    const lock = await ResultsLock.acquire(dir, ["balloon-bench", "run"]);
    expect(lock.tookOverFrom?.pid).to.equal(pid);
    const held = JSON.parse(await readFile(join(dir, LOCK_FILE), "utf8")) as { pid: number };
    expect(held.pid).to.equal(process.pid);
    await lock.release();
  });

  it("takes over a lock whose pid now belongs to another process (start time differs)", async () => {
    await writeFile(
      join(dir, LOCK_FILE),
      `${JSON.stringify({ pid: process.pid, startTime: 1, hostname: hostname(), command: ["x"], since: "then" })}\n`,
    );
    const lock = await ResultsLock.acquire(dir, ["balloon-bench", "run"]);
    expect(lock.tookOverFrom?.pid).to.equal(process.pid);
    await lock.release();
  });

  it("a garbage lock file (a crash mid-write) is taken over, not obeyed forever", async () => {
    await writeFile(join(dir, LOCK_FILE), '{"pid": 12');
    const lock = await ResultsLock.acquire(dir, ["balloon-bench", "run"]);
    expect(lock.tookOverFrom).to.equal(undefined);
    await lock.release();
  });

  it("three processes racing for one directory: exactly one wins", async () => {
    // The winner holds the lock until killed, so a late starter cannot take over a stale one.
    const script = `
      import { ResultsLock } from ${JSON.stringify(new URL("../../src/experiment/results-lock.ts", import.meta.url).href)};
      try { await ResultsLock.acquire(process.argv[1], ["racer"]); console.log("won"); setInterval(() => {}, 1000); }
      catch (e) { console.log("lost: " + e.message); }`;
    const racers = [0, 1, 2].map(() =>
      execa("node", ["--import", "tsx", "--input-type=module", "-e", script, dir], {
        reject: false,
      }),
    );
    const ended: string[] = [];
    const lost = await new Promise<string[]>((resolve) => {
      for (const racer of racers)
        void racer.then((r) => {
          ended.push(r.stdout.trim());
          if (ended.length === 2) resolve([...ended]);
        });
    });
    for (const racer of racers) racer.kill("SIGKILL");
    const outputs = (await Promise.all(racers)).map((r) => r.stdout.trim());
    expect(lost.every((o) => o.startsWith("lost: ") && o.includes("is being written by"))).to.equal(
      true,
    );
    expect(outputs.filter((o) => o === "won")).to.have.length(1);
  });
});
