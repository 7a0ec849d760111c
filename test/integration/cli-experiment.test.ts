import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { execa } from "execa";
import { parsePlanText } from "../../src/core/plan/plan-text.js";
import { planCells } from "../../src/core/plan/plan.js";
import { buildSchedule } from "../../src/core/plan/schedule.js";
import type { Sample } from "../../src/core/results-format/sample.js";
import { runCli } from "../helpers/cli.js";
import { qemuPidsWithMarker } from "../helpers/processes.js";

const cliEntry = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/**
 * The acceptance run: two Debian kernel builds × two configs stock QEMU can toggle
 * (reporting on / deflate-on-oom on) × one workload × 2 iterations, plus an inflate-then-deflate
 * cell, plus a bit-6 config this QEMU cannot offer (skipped on request).
 */
const PLAN = `seed: 11
iterations: 2
rounds: 2
settleMs: 200
vm: { memoryMiB: 1024, vcpus: 1 }
events: [task-clock]
guestStats: true
kernels:
  - { name: stock, path: "debian:amd64" }
  - { name: cloud, path: "debian:cloud-amd64" }
configs:
  - { name: reporting, bits: [5] }
  - { name: oom, bits: [deflate-on-oom] }
  - { name: init-reported, bits: [5, 6] }
workloads:
  - { name: small, size: 16 }
  - name: deflated
    size: 16
    balloon: { inflate-deflate: { inflate: 256 } }
    kernels: [stock]
    configs: [reporting]
`;

interface Manifest {
  plan: { seed: number; hash: string };
  schedule: { bootOrder: string[] };
  skipped: { config: string; reason: string }[];
  runs: { resumedIterations: number }[];
  cells: {
    id: string;
    status: string;
    features: {
      requested: number[];
      offered: number[];
      negotiatedSysfs: number[];
      verified: boolean;
    };
  }[];
  boots: { id: string; status: string; startedAt: string }[];
}

describe("balloon-bench run --plan: interleaved cells, verified features, resume @integration", function () {
  this.timeout(900_000);
  let dir: string;
  let planPath: string;
  let out: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-experiment-"));
    planPath = join(dir, "plan.yaml");
    out = join(dir, "results");
    await writeFile(planPath, PLAN);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses bit 6 on this QEMU before booting anything, with the probe's explanation", async () => {
    const result = await runCli(["run", "--plan", planPath, "--out", join(dir, "refused")]);
    expect(result.exitCode).to.equal(2);
    expect(result.stderr.trim().split("\n")).to.have.length(1);
    expect(result.stderr).to.match(
      /^balloon-bench: error: config init-reported: bit 6 \(VIRTIO_BALLOON_F_DEVICE_INIT_REPORTED\) needs virtio-balloon-pci property 'x-device-init-reported', which this QEMU does not have \(fix: run `balloon-bench probe`.*--skip-unsupported/,
    );
    expect(await stat(join(dir, "refused")).catch(() => undefined)).to.equal(undefined);
  });

  /**
   * The iteration count after which a run of the plan is inside a boot, not between two: the
   * first iteration of the first boot (after two) that runs two workloads, in the seed's order.
   */
  function iterationInsideABoot(): number {
    const plan = parsePlanText(PLAN, planPath, dir);
    const cells = planCells(plan).filter((c) => c.config !== "init-reported");
    const boots = buildSchedule(plan, cells, 11).boots;
    const at = boots.findIndex((b, i) => i >= 2 && b.workloads.length > 1);
    return boots.slice(0, at).reduce((n, b) => n + b.workloads.length, 0) + 1;
  }

  it("stops cleanly on SIGINT mid-way: no QEMU left, completed iterations on disk, says how to resume", async () => {
    const trigger = new RegExp(`^\\[${iterationInsideABoot()}/10\\] `, "m");
    const child = execa(
      "node",
      ["--import", "tsx", cliEntry, "run", "--plan", planPath, "--out", out, "--skip-unsupported"],
      { reject: false, env: { CI: "true" }, stdin: "ignore" },
    );
    let stderr = "";
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        // Interrupt in the middle of a boot: after its first completed iteration.
        if (trigger.test(stderr)) resolve();
      });
      void child.then(() =>
        reject(new Error(`run ended before it could be interrupted:\n${stderr}`)),
      );
    });
    child.kill("SIGINT");
    const result = await child;
    expect(result.exitCode, result.stderr).to.equal(130);
    expect(result.stderr).to.contain("balloon-bench: interrupted (SIGINT)");
    expect(result.stderr).to.contain(
      `completed iterations are saved in ${out}; to resume, run the same command again with --out ${out}`,
    );
    expect(await qemuPidsWithMarker("bb-vm-")).to.deep.equal([]);
    // Its overlay and run directory went before it exited; the boot it was in says interrupted.
    const leftovers = (await readdir(tmpdir())).filter((n) =>
      new RegExp(`^bb-(vm|overlay)-${child.pid}-`).test(n),
    );
    expect(leftovers).to.deep.equal([]);
    const interrupted = JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as Manifest;
    expect(interrupted.boots.map((b) => b.status)).not.to.include("running");
    expect(interrupted.boots.at(-1)?.status).to.equal("interrupted");
    const done = result.stderr.match(/^\[\d+\/10\] /gm)?.length ?? 0;
    let onDisk = 0;
    for (const id of [
      "stock__reporting__small",
      "stock__reporting__deflated",
      "stock__oom__small",
      "cloud__reporting__small",
      "cloud__oom__small",
    ]) {
      const text = await readFile(join(out, "cells", id, "samples.jsonl"), "utf8").catch(() => "");
      onDisk += text.split("\n").filter((l) => l !== "").length;
    }
    expect(onDisk).to.equal(done);
    expect(done).to.be.within(4, 9);
  });

  it("resumes with the same command: nothing redone, every cell complete with its bits verified", async () => {
    const result = await runCli(["run", "--plan", planPath, "--out", out, "--skip-unsupported"], {
      CI: "true",
    });
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stderr).to.match(
      /^resuming .*: \d+ iterations already done, \d+ of 8 boots left$/m,
    );
    expect(result.stdout).to.contain(
      "skipped config init-reported: bit 6 (VIRTIO_BALLOON_F_DEVICE_INIT_REPORTED) needs virtio-balloon-pci property",
    );
    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as Manifest;
    expect(manifest.skipped.map((s) => s.config)).to.deep.equal(["init-reported"]);
    expect(manifest.runs).to.have.length(2);
    expect(manifest.runs[1]?.resumedIterations).to.be.within(4, 9);

    // Negotiated bits per cell: reporting cells negotiate 5, deflate-on-oom cells 2 (1 is always on).
    expect(
      manifest.cells.map((c) => [
        c.id,
        c.status,
        c.features.offered,
        c.features.negotiatedSysfs,
        c.features.verified,
      ]),
    ).to.deep.equal([
      ["stock__reporting__small", "complete", [1, 5], [1, 5], true],
      ["stock__reporting__deflated", "complete", [1, 5], [1, 5], true],
      ["stock__oom__small", "complete", [1, 2], [1, 2], true],
      ["cloud__reporting__small", "complete", [1, 5], [1, 5], true],
      ["cloud__oom__small", "complete", [1, 2], [1, 2], true],
    ]);

    // Each counted iteration exactly once, across the two runs.
    for (const cell of manifest.cells) {
      const samples = (await readFile(join(out, "cells", cell.id, "samples.jsonl"), "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Sample);
      expect(samples.filter((s) => !s.warmup).map((s) => [s.round, s.iteration])).to.deep.equal([
        [1, 1],
        [2, 2],
      ]);
      for (const sample of samples) {
        expect(sample.telemetry?.rssAfterBytes).to.be.greaterThan(0);
        expect(sample.telemetry?.balloonActualBytes).to.equal(1024 * 1024 * 1024);
        expect(sample.telemetry?.vmstatDeltas).to.have.property("pgfault");
        expect(sample.telemetry?.guestStats?.["total-memory"]).to.be.within(900 * 2 ** 20, 2 ** 30);
        // Statistics the guest sent after the iteration (issue 13, case 14), not the previous ones.
        expect(sample.telemetry?.guestStatsAgeS).to.be.at.most(0);
      }
      if (cell.id === "stock__reporting__deflated") {
        for (const sample of samples) {
          expect(sample.settle).to.deep.equal({ method: "none" });
          expect(sample.telemetry?.inflate?.targetBytes).to.equal(768 * 1024 * 1024);
          expect(sample.telemetry?.inflate?.inflateMs).to.be.greaterThan(0);
          expect(sample.telemetry?.inflate?.deflateMs).to.be.greaterThan(0);
        }
      }
    }

    // The order: the recorded seed's schedule, every round-1 boot before any round-2 boot, and the
    // boots that completed ran in exactly that order (the interrupted one was redone in place).
    const plan = parsePlanText(PLAN, planPath, dir);
    const cells = planCells(plan).filter((c) => c.config !== "init-reported");
    expect(manifest.plan.seed).to.equal(11);
    const order = buildSchedule(plan, cells, 11).boots.map((b) => b.id);
    expect(manifest.schedule.bootOrder).to.deep.equal(order);
    expect(order.slice(0, 4).every((id) => id.endsWith("__r1"))).to.equal(true);
    expect(order.slice(0, 4)).not.to.deep.equal([
      "stock__reporting__r1",
      "stock__oom__r1",
      "cloud__reporting__r1",
      "cloud__oom__r1",
    ]);
    const completed = manifest.boots
      .filter((b) => b.status === "complete")
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt))
      .map((b) => b.id);
    expect(completed).to.deep.equal(order);
    expect(manifest.boots.filter((b) => b.status === "interrupted")).to.have.length.within(0, 1);

    // Run again: nothing left, nothing booted.
    const again = await runCli(["run", "--plan", planPath, "--out", out, "--skip-unsupported"], {
      CI: "true",
    });
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(again.stderr).to.match(/: 10 iterations already done, 0 of 8 boots left$/m);
  });

  it("refuses to resume with a changed plan, naming the change", async () => {
    const changed = join(dir, "changed.yaml");
    await writeFile(changed, PLAN.replace("iterations: 2", "iterations: 3"));
    const result = await runCli(["run", "--plan", changed, "--out", out, "--skip-unsupported"]);
    expect(result.exitCode).to.equal(2);
    expect(result.stderr.trim().split("\n").at(-1)).to.equal(
      `balloon-bench: error: ${out} was written by a different plan (iterations: 2 vs 3) (fix: run into a new --out directory, or re-run exactly the command that made ${out})`,
    );
  });

  it("runs the plan as 2 shards in separate processes and merges them into the comparison a single run gives", async () => {
    const shardDirs = [join(dir, "shard-1"), join(dir, "shard-2")];
    const shards = await Promise.all(
      shardDirs.map((shardOut, i) =>
        runCli(
          [
            "run",
            "--plan",
            planPath,
            "--skip-unsupported",
            "--shard",
            `${i + 1}/2`,
            "--out",
            shardOut,
          ],
          { CI: "true" },
        ),
      ),
    );
    for (const shard of shards) expect(shard.exitCode, shard.stderr).to.equal(0);
    const merged = join(dir, "merged");
    const merge = await runCli(["merge", ...shardDirs, "--out", merged]);
    expect(merge.exitCode, merge.stderr).to.equal(0);
    expect(merge.stdout).to.equal(`merged 2 shards, 5 cells: ${merged}`);

    const shape = async (results: string): Promise<unknown[]> => {
      const compare = await runCli([
        "compare",
        results,
        "--baseline",
        "config=reporting",
        "--format",
        "json",
      ]);
      expect(compare.exitCode, compare.stderr).to.equal(0);
      const report = JSON.parse(compare.stdout) as {
        comparisons: {
          workload: string;
          metric: string;
          baseline: { label: string; n: number };
          candidate: { label: string; n: number };
        }[];
      };
      return report.comparisons.map((c) => [
        c.workload,
        c.metric,
        c.baseline.label,
        c.baseline.n,
        c.candidate.label,
        c.candidate.n,
      ]);
    };
    const single = await shape(out);
    expect(single).to.have.length(2);
    expect(await shape(merged)).to.deep.equal(single);

    const missing = await runCli(["merge", shardDirs[0]!, "--out", join(dir, "m1")]);
    expect([missing.exitCode, missing.stderr.trim()]).to.deep.equal([
      2,
      "balloon-bench: error: shard 2/2 missing (fix: pass every shard directory of the matrix (a failed runner's shard can be re-run with the same --shard))",
    ]);
    const twice = await runCli([
      "merge",
      shardDirs[0]!,
      shardDirs[0]!,
      shardDirs[1]!,
      "--out",
      join(dir, "m2"),
    ]);
    expect(twice.exitCode).to.equal(2);
    expect(twice.stderr).to.contain(
      `shard 1/2 is given twice: ${shardDirs[0]} and ${shardDirs[0]}`,
    );
    const unsharded = await runCli(["merge", shardDirs[0]!, out, "--out", join(dir, "m3")]);
    expect(unsharded.exitCode).to.equal(2);
    expect(unsharded.stderr).to.contain(`${out} is not a shard (it was run without --shard)`);
  });
});
