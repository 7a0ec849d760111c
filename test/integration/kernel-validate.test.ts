import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { buildKernel } from "../../src/machine/kernel-build/build-kernel.js";
import { cacheDir } from "../../src/util/paths.js";
import { runCli } from "../helpers/cli.js";
import {
  SMALL_RUN,
  THP_NEVER_MBOX,
  exists,
  fakeKernelRepo,
  linuxSource61,
  linuxSource61Git,
  snapshot,
  staleSeries,
} from "../helpers/kernel-trees.js";

/**
 * The kernel-from-source commands end to end, through the CLI: `kernel build`, `run --kernel
 * NAME=build:...`, `validate`. Bad input is one line and exit 2 before anything is built; the
 * real builds (linux-source-6.1, default guest config; @kernel-build) use the user's cache
 * (~/.cache/balloon-bench/kernel-builds), where kernel-build.test.ts's builds of the same files
 * are found: the git checkout's baseline and patched kernels are the unpacked tree's builds.
 */

/** A tiny stand-in for a kernel checkout, and a one-patch series that does not apply to it. */
async function fakeTreeAndStaleSeries(dir: string): Promise<{ repo: string; mbox: string }> {
  const repo = await fakeKernelRepo(dir);
  return { repo, mbox: await staleSeries(repo, join(dir, "stale.mbox")) };
}

describe("kernel build, --kernel build: and validate refuse bad input in one line @integration", function () {
  this.timeout(120_000);
  let dir: string;
  let env: Record<string, string>;
  let tree: { repo: string; mbox: string };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-kvalidate-"));
    env = { XDG_CACHE_HOME: join(dir, "cache") };
    tree = await fakeTreeAndStaleSeries(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("kernel build: a series that does not apply names the patch and the file, exit 2, tree untouched", async () => {
    const before = await snapshot(tree.repo);
    const result = await runCli(
      ["kernel", "build", "--tree", tree.repo, "--patches", tree.mbox],
      env,
    );
    expect(result.exitCode, result.stderr).to.equal(2);
    const errors = result.stderr.split("\n").filter((l) => l.startsWith("balloon-bench:"));
    expect(errors).to.deep.equal([
      "balloon-bench: error: patch 1/1 'mm: thp: default to never' does not apply to mm/huge_memory.c (patch does not apply) (fix: rebase the series onto the source you build (or pick the --ref it was written for))",
    ]);
    expect(await snapshot(tree.repo)).to.equal(before);
  });

  it("kernel build: a tree that is not a kernel source, exit 2", async () => {
    const result = await runCli(["kernel", "build", "--tree", dir], env);
    expect(result.exitCode).to.equal(2);
    expect(result.stderr).to.match(/is not a kernel source tree \(no Makefile and Kconfig/);
  });

  it("run --kernel NAME=build:: a missing series is refused before anything is built or booted", async () => {
    const out = join(dir, "run-missing");
    const env = { XDG_CACHE_HOME: join(dir, "cache-run") };
    const result = await runCli(
      [
        "run",
        "--kernel",
        `k=build:tree=${tree.repo},patches=${join(dir, "nope.mbox")}`,
        ...SMALL_RUN,
        "--out",
        out,
      ],
      env,
    );
    expect(result.exitCode).to.equal(2);
    expect(result.stderr).to.include(`patch series '${join(dir, "nope.mbox")}' cannot be read`);
    expect(result.stderr).to.not.match(/kernel build: \[|boot /);
    expect(await exists(join(dir, "cache-run/balloon-bench/kernel-builds"))).to.equal(false);
  });

  it("validate: no series, an unknown --ref, a malformed gate are one-line usage errors", async () => {
    const base = ["validate", "--tree", tree.repo, ...SMALL_RUN];
    const noSeries = await runCli([...base, "--base", "HEAD"], env);
    expect(noSeries.exitCode).to.equal(2);
    expect(noSeries.stderr).to.include("validate needs the series to validate");
    const badRef = await runCli([...base, "--base", "v9.9", "--patches", tree.mbox], env);
    expect(badRef.exitCode).to.equal(2);
    expect(badRef.stderr).to.include("--ref 'v9.9' names no commit");
    const badGate = await runCli(
      [...base, "--base", "HEAD", "--patches", tree.mbox, "--expect-improvement", "pgfault"],
      env,
    );
    expect(badGate.exitCode).to.equal(2);
    expect(badGate.stderr).to.include("malformed --expect-improvement 'pgfault'");
  });
});

interface CellRecord {
  kernelName: string;
  kernel: { release: string; build?: Record<string, unknown> };
  guest?: { thp: string };
}

async function cellsOf(out: string): Promise<CellRecord[]> {
  const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as {
    cells: CellRecord[];
  };
  return manifest.cells;
}

describe("kernels built from linux-source-6.1, booted and validated @integration @kernel-build", function () {
  this.timeout(4 * 3600_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-kvalidate-real-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  let sourceTree: string;
  before(async () => {
    sourceTree = await linuxSource61();
  });

  it("kernel build prints the built kernel's paths; run --kernel NAME=build: boots it and the manifest records the build", async () => {
    const built = await runCli(["kernel", "build", "--tree", sourceTree]);
    expect(built.exitCode, built.stderr).to.equal(0);
    const bzImage = /^bzImage: (.*)$/m.exec(built.stdout)?.[1] ?? "";
    expect(await exists(bzImage)).to.equal(true);
    expect(built.stdout).to.match(/^modules: .*\/modules$/m);
    expect(built.stdout).to.match(/^release: 6\.1\.\d+$/m);
    const out = join(dir, "run-built");
    const result = await runCli([
      "run",
      "--kernel",
      `mine=build:tree=${sourceTree}`,
      ...["--iterations", "1", "--rounds", "1", ...SMALL_RUN, "--out", out],
    ]);
    expect(result.exitCode, result.stderr).to.equal(0);
    const [cell] = await cellsOf(out);
    expect(cell?.kernel.build).to.include.keys("contentSha256", "configSha256", "compiler", "key");
    expect(cell?.kernel.build?.["patches"]).to.deep.equal([]);
  });

  it("validate: baseline and THP-never patched from a git tree, vmstat.pgfault gate passes (exit 0), with the unpacked tree's builds", async () => {
    // The same files from the tarball, built (or found) first: validate compiles nothing more.
    const cacheRoot = cacheDir();
    const tarball = await buildKernel({ tree: sourceTree, cacheRoot });
    const tarballPatched = await buildKernel({
      tree: sourceTree,
      patches: [THP_NEVER_MBOX],
      cacheRoot,
    });
    const tree = await linuxSource61Git();
    const out = join(dir, "validate");
    const result = await runCli([
      "validate",
      ...["--tree", tree, "--base", "HEAD", "--patches", THP_NEVER_MBOX],
      ...["--iterations", "4", "--rounds", "4", "--seed", "7", ...SMALL_RUN],
      // THP never: every 4 KiB page faults, where THP always took 2 MiB pages: pgfault goes up.
      ...["--direction", "vmstat.pgfault=higher", "--expect-improvement", "vmstat.pgfault:50"],
      ...["--out", out],
    ]);
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).to.equal(0);
    expect(result.stdout).to.match(/vmstat\.pgfault/);
    expect(result.stdout).to.match(/^verdict: PASS \(--expect-improvement vmstat\.pgfault:50\)$/m);
    const cells = await cellsOf(out);
    const patched = cells.find((c) => c.kernelName === "patched");
    expect(patched?.kernel.build?.["patches"]).to.deep.equal([
      {
        subject: "mm: thp: make never the built-in default",
        sha256: "8311d0de83dc2ab05127d12f6b5f875a1b06cb5bb7e69ec6d6fc3ebc45cb445d",
      },
    ]);
    expect(patched?.guest?.thp).to.match(/\[never\]/);
    const baseline = cells.find((c) => c.kernelName === "baseline");
    expect(baseline?.guest?.thp).to.match(/\[always\]/);
    // A commit and an unpacked copy of it are one build; each cell records its own naming.
    expect(baseline?.kernel.build?.key).to.equal(tarball.key);
    expect(patched?.kernel.build?.key).to.equal(tarballPatched.key);
    expect(baseline?.kernel.build?.commit).to.match(/^[0-9a-f]{40}$/);
    expect(baseline?.kernel.build?.builtSourceSha256).to.equal(tarball.identity.builtSourceSha256);
    expect(result.stderr).to.not.match(/kernel build: \[3\/4\] build/);
  });
});
