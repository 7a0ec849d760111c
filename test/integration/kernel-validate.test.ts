import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { execa } from "execa";
import { runCli } from "../helpers/cli.js";

/**
 * The kernel-from-source commands end to end, through the CLI: `kernel build`, `run --kernel
 * NAME=build:...`, `validate`. Bad input is one line and exit 2 before anything is built; the
 * real builds (linux-source-6.1, default guest config) run when BB_KERNEL_BUILD_TESTS=1, on
 * BB_TEST_KERNEL_TREE (an unpacked linux-source-6.1; default: the one kernel-build.test.ts
 * fetches) and BB_TEST_KERNEL_GIT (the same source as a git checkout; default: made from it once),
 * with the user's cache (~/.cache/balloon-bench/kernel-builds).
 */
const REAL_BUILDS = process.env.BB_KERNEL_BUILD_TESTS === "1";
const THP_NEVER_MBOX = fileURLToPath(
  new URL("../fixtures/kernel/series/thp-never-6.1.mbox", import.meta.url),
);
const SMALL_RUN = [
  ...["--size", "32", "--memory", "1024", "--vcpus", "1", "--settle", "200"],
  ...["--accel", "tcg"],
];

const git = (cwd: string, args: string[]) =>
  execa("git", ["-C", cwd, ...args], {
    env: {
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.invalid",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.invalid",
    },
  });

async function snapshot(dir: string): Promise<string> {
  const { stdout } = await execa("find", [dir, "-printf", "%p %s %T@\\n"]);
  return stdout.split("\n").sort().join("\n");
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** A tiny stand-in for a kernel checkout, and a one-patch series that does not apply to it. */
async function fakeTreeAndStaleSeries(dir: string): Promise<{ repo: string; mbox: string }> {
  const repo = join(dir, "linux");
  await mkdir(join(repo, "mm"), { recursive: true });
  await writeFile(join(repo, "Makefile"), "all:\n");
  await writeFile(join(repo, "Kconfig"), "");
  await writeFile(join(repo, "mm/huge_memory.c"), "a\nb\nc\n");
  await execa("git", ["init", "-q", "-b", "main", repo]);
  await git(repo, ["add", "."]);
  await git(repo, ["commit", "-qm", "base"]);
  await git(repo, ["checkout", "-q", "-b", "old"]);
  await writeFile(join(repo, "mm/huge_memory.c"), "a\nb changed\nc\n");
  await git(repo, ["commit", "-qam", "mm: thp: default to never"]);
  const { stdout } = await git(repo, ["format-patch", "-1", "--stdout"]);
  await git(repo, ["checkout", "-q", "main"]);
  await writeFile(join(repo, "mm/huge_memory.c"), "a\nB\nc\n");
  await git(repo, ["commit", "-qam", "mm: thp: change b"]);
  await git(repo, ["branch", "-qD", "old"]);
  const mbox = join(dir, "stale.mbox");
  await writeFile(mbox, `${stdout}\n`);
  return { repo, mbox };
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

(REAL_BUILDS ? describe : describe.skip)(
  "kernels built from linux-source-6.1, booted and validated @integration",
  function () {
    this.timeout(4 * 3600_000);
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "bb-kvalidate-real-"));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });
    const testDir =
      process.env.BB_TEST_KERNEL_DIR ?? join(homedir(), ".cache", "balloon-bench-test-kernels");
    const sourceTree = (): string =>
      process.env.BB_TEST_KERNEL_TREE ?? join(testDir, "linux-source-6.1");

    /** The unpacked source as a git checkout (one commit), made once under the test folder. */
    async function gitTree(): Promise<string> {
      if (process.env.BB_TEST_KERNEL_GIT !== undefined) return process.env.BB_TEST_KERNEL_GIT;
      const repo = join(testDir, "linux-source-6.1-git");
      if (await exists(join(repo, ".git/complete"))) return repo;
      await rm(repo, { recursive: true, force: true });
      await execa("cp", ["-a", sourceTree(), repo]);
      await execa("git", ["init", "-q", "-b", "main", repo]);
      await git(repo, ["add", "-A", "-f"]); // every file of the tarball, ignored patterns or not
      await git(repo, ["commit", "-qm", "linux-source-6.1"]);
      await writeFile(join(repo, ".git/complete"), "");
      return repo;
    }

    it("kernel build prints the built kernel's paths; run --kernel NAME=build: boots it and the manifest records the build", async () => {
      const built = await runCli(["kernel", "build", "--tree", sourceTree()]);
      expect(built.exitCode, built.stderr).to.equal(0);
      const bzImage = /^bzImage: (.*)$/m.exec(built.stdout)?.[1] ?? "";
      expect(await exists(bzImage)).to.equal(true);
      expect(built.stdout).to.match(/^modules: .*\/modules$/m);
      expect(built.stdout).to.match(/^release: 6\.1\.\d+$/m);
      const out = join(dir, "run-built");
      const result = await runCli([
        "run",
        "--kernel",
        `mine=build:tree=${sourceTree()}`,
        ...["--iterations", "1", "--rounds", "1", ...SMALL_RUN, "--out", out],
      ]);
      expect(result.exitCode, result.stderr).to.equal(0);
      const [cell] = await cellsOf(out);
      expect(cell?.kernel.build).to.include.keys(
        "contentSha256",
        "configSha256",
        "compiler",
        "key",
      );
      expect(cell?.kernel.build?.["patches"]).to.deep.equal([]);
    });

    it("validate: baseline and THP-never patched from a git tree, vmstat.pgfault gate passes (exit 0)", async () => {
      const tree = await gitTree();
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
      expect(result.stdout).to.match(
        /^verdict: PASS \(--expect-improvement vmstat\.pgfault:50\)$/m,
      );
      const cells = await cellsOf(out);
      const patched = cells.find((c) => c.kernelName === "patched");
      expect(patched?.kernel.build?.["patches"]).to.deep.equal([
        {
          subject: "mm: thp: make never the built-in default",
          sha256: "8311d0de83dc2ab05127d12f6b5f875a1b06cb5bb7e69ec6d6fc3ebc45cb445d",
        },
      ]);
      expect(patched?.guest?.thp).to.match(/\[never\]/);
      expect(cells.find((c) => c.kernelName === "baseline")?.guest?.thp).to.match(/\[always\]/);
    });
  },
);
