import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

/**
 * Kernel source trees for the kernel-build and validate tests: tiny stand-ins for a checkout,
 * and the real linux-source-6.1 (fetched with apt once per machine into BB_TEST_KERNEL_DIR,
 * default ~/.cache/balloon-bench-test-kernels), as an unpacked tree and as a git checkout.
 */
export const TEST_KERNEL_DIR =
  process.env.BB_TEST_KERNEL_DIR ?? join(homedir(), ".cache", "balloon-bench-test-kernels");

/** The one-line THP-never patch, as `git format-patch` wrote it against linux-source-6.1. */
export const THP_NEVER_MBOX = fileURLToPath(
  new URL("../fixtures/kernel/series/thp-never-6.1.mbox", import.meta.url),
);

/** A small, quick run's options (under TCG): enough to show a kernel boots and measures. */
export const SMALL_RUN = [
  ...["--size", "32", "--memory", "1024", "--vcpus", "1", "--settle", "200"],
  ...["--accel", "tcg"],
];

export const git = (cwd: string, args: string[]) =>
  execa("git", ["-C", cwd, ...args], {
    env: {
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.invalid",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.invalid",
    },
  });

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Every path under dir with size and mtime: equal before and after means nothing was written. */
export async function snapshot(dir: string): Promise<string> {
  const { stdout } = await execa("find", [dir, "-printf", "%p %s %T@\\n"]);
  return stdout.split("\n").sort().join("\n");
}

/**
 * A tiny stand-in for a kernel git checkout (enough for source export and patch application):
 * mm/huge_memory.c is "a b c" in the first commit, "a B c" at HEAD (branch main).
 */
export async function fakeKernelRepo(dir: string): Promise<string> {
  const repo = join(dir, "linux");
  await mkdir(join(repo, "mm"), { recursive: true });
  await writeFile(join(repo, "Makefile"), "all:\n");
  await writeFile(join(repo, "Kconfig"), "");
  await writeFile(join(repo, "mm/huge_memory.c"), "a\nb\nc\n");
  await execa("git", ["init", "-q", "-b", "main", repo]);
  await git(repo, ["add", "."]);
  await git(repo, ["commit", "-qm", "base"]);
  await writeFile(join(repo, "mm/huge_memory.c"), "a\nB\nc\n");
  await git(repo, ["commit", "-qam", "mm: thp: change b"]);
  return repo;
}

/**
 * A one-patch series written against the first commit of fakeKernelRepo, which does not apply
 * to its HEAD; written to `mboxPath`. The repository is left as it was (main checked out).
 */
export async function staleSeries(repo: string, mboxPath: string): Promise<string> {
  await git(repo, ["checkout", "-q", "-b", "old", "HEAD~1"]);
  await writeFile(join(repo, "mm/huge_memory.c"), "a\nb changed\nc\n");
  await git(repo, ["commit", "-qam", "mm: thp: default to never"]);
  const { stdout } = await git(repo, ["format-patch", "-1", "--stdout"]);
  await git(repo, ["checkout", "-q", "main"]);
  await git(repo, ["branch", "-qD", "old"]);
  await writeFile(mboxPath, `${stdout}\n`);
  return mboxPath;
}

/** Debian 12's linux-source-6.1, unpacked (BB_TEST_KERNEL_TREE: one the caller has). */
export async function linuxSource61(): Promise<string> {
  if (process.env.BB_TEST_KERNEL_TREE !== undefined) return process.env.BB_TEST_KERNEL_TREE;
  const tree = join(TEST_KERNEL_DIR, "linux-source-6.1");
  if (await exists(join(tree, "Makefile"))) return tree;
  const work = `${tree}.partial`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  await execa("apt-get", ["download", "linux-source-6.1"], { cwd: work });
  const deb = (await readdir(work)).find((f) => f.endsWith(".deb"));
  if (deb === undefined) throw new Error("apt-get download linux-source-6.1 left no .deb");
  await execa("dpkg-deb", ["-x", join(work, deb), join(work, "pkg")]);
  await execa("tar", ["-xJf", join(work, "pkg/usr/src/linux-source-6.1.tar.xz"), "-C", work]);
  await execa("mv", [join(work, "linux-source-6.1"), tree]);
  await rm(work, { recursive: true, force: true });
  return tree;
}

/**
 * The same source as a git checkout of one commit (BB_TEST_KERNEL_GIT: one the caller has),
 * made once: every file of the tarball, ignored patterns or not, so its files are the tarball's.
 */
export async function linuxSource61Git(): Promise<string> {
  if (process.env.BB_TEST_KERNEL_GIT !== undefined) return process.env.BB_TEST_KERNEL_GIT;
  const repo = join(TEST_KERNEL_DIR, "linux-source-6.1-git");
  if (await exists(join(repo, ".git/complete"))) return repo;
  await rm(repo, { recursive: true, force: true });
  await execa("cp", ["-a", await linuxSource61(), repo]);
  await execa("git", ["init", "-q", "-b", "main", repo]);
  await git(repo, ["add", "-A", "-f"]);
  await git(repo, ["commit", "-qm", "linux-source-6.1"]);
  await writeFile(join(repo, ".git/complete"), "");
  return repo;
}
