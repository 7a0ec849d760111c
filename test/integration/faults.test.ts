import { mkdir, mkdtemp, open, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { execa } from "execa";
import type { Sample } from "../../src/core/results-format/sample.js";
import { runCli, spawnCli } from "../helpers/cli.js";
import { eventually, qemuPidsWithMarker } from "../helpers/processes.js";

interface Manifest {
  boots: { id: string; status: string; error?: string; shutdown?: string }[];
  cells: { id: string; status: string }[];
}

const readManifest = async (out: string): Promise<Manifest> =>
  JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as Manifest;

const readSamples = async (out: string, cell: string): Promise<Sample[]> =>
  (await readFile(join(out, "cells", cell, "samples.jsonl"), "utf8"))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Sample);

/** A small real run: one Debian kernel, 16 MiB, TCG. */
const SMALL = ["--size", "16", "--memory", "1024", "--vcpus", "1", "--settle", "200"];
const CELL = "debian-stock__bits-5__alloc_once-16M";

/**
 * The reliability campaign's faults, made for real (issue 13): QEMU stopped and killed under a
 * boot, two runs on one directory, the tool killed, results on a filesystem that fills up.
 */
describe("faults under real QEMU @integration", function () {
  this.timeout(900_000);
  let dir: string;
  let runtime: string;
  let env: Record<string, string>;

  /** The QEMU this test's runs started (their run dirs are under `runtime`). */
  const ourQemu = async (): Promise<number[]> => qemuPidsWithMarker(runtime);
  const stoppedOut = (): string => join(dir, "stopped");
  let stoppedArgs: string[];

  /** The QEMU of the run's Nth boot, once that boot's iteration is under way. */
  const qemuOfBoot = async (run: ReturnType<typeof spawnCli>, n: number): Promise<number> => {
    await run.waitFor(/^guest: /, n);
    await sleep(2_000);
    const pids = await ourQemu();
    expect(pids).to.have.length(1);
    return pids[0] ?? -1;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-faults-"));
    runtime = join(dir, "rt");
    await mkdir(runtime, { mode: 0o700 });
    env = { XDG_RUNTIME_DIR: runtime, CI: "true" };
    stoppedArgs = [
      "run",
      ...SMALL,
      "--settle",
      "15000",
      "--iterations",
      "3",
      "--rounds",
      "3",
    ].concat(["--hang-timeout", "30", "--out", stoppedOut()]);
  });
  after(async () => {
    for (const pid of await ourQemu()) process.kill(pid, "SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  it("one writer per --out: a second run is refused naming the first's pid; SIGTERM then records the boot interrupted and leaves nothing behind (cases 1, 9)", async () => {
    const out = join(dir, "locked");
    const args = ["run", ...SMALL, "--iterations", "4", "--rounds", "2", "--out", out];
    const first = spawnCli(args, env);
    await first.waitFor(/^\[1\/4\] /);
    const second = await runCli(args, env);
    expect(second.exitCode).to.equal(2);
    expect(second.stderr.trim().split("\n")).to.have.length(1);
    expect(second.stderr).to.contain(
      `${out} is being written by balloon-bench pid ${first.child.pid}`,
    );

    await first.waitFor(/^guest: /, 2);
    first.child.kill("SIGTERM");
    const result = await first.child;
    expect(result.exitCode, String(result.stderr)).to.equal(143);
    expect(await ourQemu()).to.deep.equal([]);
    expect(await readdir(runtime)).to.deep.equal([]);
    const manifest = await readManifest(out);
    expect(manifest.boots.map((b) => b.status)).to.deep.equal(["complete", "interrupted"]);
    expect((await readSamples(out, CELL)).length).to.equal(2);
    expect(await readdir(out)).not.to.include(".lock");
  });

  it("SIGKILL of the tool: its QEMU goes with it; the next run sweeps the run dirs it left and reconciles the boot", async () => {
    const out = join(dir, "killed");
    const args = ["run", ...SMALL, "--iterations", "2", "--rounds", "1", "--out", out];
    const first = spawnCli(args, env);
    await first.waitFor(/^guest: /);
    first.child.kill("SIGKILL");
    await first.child;
    expect(await eventually(async () => (await ourQemu()).length === 0, 15_000)).to.equal(true);
    const left = await readdir(runtime);
    expect(left.some((name) => name.startsWith(`bb-vm-${first.child.pid}-`))).to.equal(true);

    const resumed = await runCli(args, env);
    expect(resumed.exitCode, resumed.stderr).to.equal(0);
    expect(resumed.stderr).to.contain(`took over the lock of balloon-bench pid ${first.child.pid}`);
    expect(await readdir(runtime)).to.deep.equal([]);
    const manifest = await readManifest(out);
    expect(manifest.boots.map((b) => [b.status, b.error])).to.deep.equal([
      ["interrupted", "the process running it ended before it did (found on resume)"],
      ["complete", undefined],
    ]);
  });

  it("QEMU stopped 25 s: the iteration is flagged stalled; stopped for good: the boot fails within the hang timeout (case 5)", async () => {
    // 15 s of settle inside the guest command: a window in which QEMU is stopped mid-iteration.
    const run = spawnCli(stoppedArgs, env);
    const stopped = await qemuOfBoot(run, 1);
    process.kill(stopped, "SIGSTOP");
    await sleep(25_000);
    process.kill(stopped, "SIGCONT");

    const hung = await qemuOfBoot(run, 2);
    process.kill(hung, "SIGSTOP");
    const stoppedAt = Date.now();
    await run.waitFor(/^boot debian-stock__bits-5__r2 failed: /);
    const noticedMs = Date.now() - stoppedAt;
    const result = await run.child;
    expect(result.exitCode, String(result.stderr)).to.equal(1);
    expect(noticedMs).to.be.within(30_000, 60_000);
    expect(await ourQemu()).to.deep.equal([]);

    const [first, second] = (await readManifest(stoppedOut())).boots;
    expect(first?.status).to.equal("complete");
    expect(second?.status).to.equal("failed");
    expect(second?.error).to.match(
      /^QEMU did not answer QMP for 3\d s during an iteration \(QEMU is stopped \(SIGSTOP, or a debugger holds it\)\)$/,
    );
    const [sample] = await readSamples(stoppedOut(), CELL);
    expect(sample?.telemetry?.stall?.longestMs).to.be.within(15_000, 30_000);
  });

  it("QEMU killed under a boot: the error says QEMU died and how, and the boot record has it (case 11)", async () => {
    // The same command again: it retries the failed boots, and this time QEMU is killed.
    const run = spawnCli(stoppedArgs, env);
    process.kill(await qemuOfBoot(run, 1), "SIGKILL");
    const result = await run.child;
    expect(result.exitCode, String(result.stderr)).to.equal(1);
    const last = (await readManifest(stoppedOut())).boots.at(-1);
    expect(last?.status).to.equal("failed");
    expect(last?.shutdown).to.equal("QEMU exited (killed by SIGKILL)");
    expect(last?.error).to.match(
      /^QEMU exited \(killed by SIGKILL\) during boot debian-stock__bits-5__r2 \(/,
    );
    expect(String(result.stderr)).to.contain("QEMU exited (killed by SIGKILL) during boot");
    expect(await ourQemu()).to.deep.equal([]);
  });
});

const inTmpfs = fileURLToPath(new URL("../fixtures/faults/in-tmpfs.sh", import.meta.url));
const cliEntry = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** Results on a real filesystem that is full or read-only: a private tmpfs (unshare -rm). */
describe("results on a full or read-only filesystem @integration", function () {
  this.timeout(900_000);
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-fs-"));
    await mkdir(join(dir, "rt"), { mode: 0o700 });
    env = { XDG_RUNTIME_DIR: join(dir, "rt"), CI: "true" };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cli = (out: string): string[] =>
    ["node", "--import", "tsx", cliEntry, "run", ...SMALL].concat([
      "--iterations",
      "2",
      "--rounds",
      "2",
      "--out",
      out,
    ]);

  it("a read-only filesystem is refused before anything boots, in one line (case 8)", async () => {
    const mount = join(dir, "ro");
    await mkdir(mount);
    const result = await execa(
      "unshare",
      ["-rm", inTmpfs, mount, "1m", "ro", ...cli(join(mount, "r"))],
      {
        reject: false,
        env,
        stdin: "ignore",
      },
    );
    expect(result.exitCode).to.equal(2);
    expect(result.stderr.trim().split("\n").at(-1)).to.equal(
      `balloon-bench: error: --out ${join(mount, "r")}: ${mount} is on a read-only filesystem (fix: choose a directory you can write to, e.g. under ${process.env["HOME"] ?? "your home"})`,
    );
    expect(result.stderr).not.to.match(/^boot /m);
  });

  it("a filesystem that fills mid-run: one line naming the file and the fix, no temporary files, and the same command finishes once there is space (case 6)", async () => {
    const mount = join(dir, "full");
    await mkdir(mount);
    const child = execa(
      "unshare",
      ["-rm", inTmpfs, mount, "66m", "full", ...cli(join(mount, "r"))],
      {
        reject: false,
        env,
        stdin: "ignore",
      },
    );
    let stderr = "";
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/^\[1\/2\] /m.test(stderr)) resolve();
      });
      void child.then(() => reject(new Error(`ended before the first iteration:\n${stderr}`)));
    });
    // Fill the namespace's tmpfs, seen through the process's root.
    const fill = await open(`/proc/${child.pid}/root${mount}/fill`, "w");
    const chunk = Buffer.alloc(1 << 20);
    try {
      for (;;) await fill.write(chunk);
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).to.equal("ENOSPC");
    } finally {
      await fill.close();
    }
    const result = await child;
    const [firstRun] = String(result.stderr).split(/^first-exit=\d+$/m);
    expect(result.stdout).to.contain("first-exit=1");
    const errorLine = firstRun?.trim().split("\n").at(-1) ?? "";
    expect(errorLine, errorLine).to.match(
      new RegExp(
        `^balloon-bench: error: no space left on the device \\((open|write) ${join(mount, "r")}/[^ ]+\\) \\(fix: free space on that filesystem, or use another directory; results already written are kept\\)$`,
      ),
    );
    expect(result.stdout).not.to.contain("leftover: ");
    expect(result.stdout).to.contain("second-exit=0");
    const manifest = await readManifest(join(`${mount}.after`, "r"));
    expect(manifest.cells.map((c) => c.status)).to.deep.equal(["complete"]);
    expect(manifest.boots.map((b) => b.status)).not.to.include("running");
    expect(await readSamples(join(`${mount}.after`, "r"), CELL)).to.have.length(2);
  });
});
