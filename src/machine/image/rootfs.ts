import { readdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { EnvironmentError } from "../../core/errors.js";
import { mmdebstrapArgs, type ImageRecipe } from "../../core/image/image-recipe.js";
import { imagesDir } from "../../util/assets.js";
import { findOnPath } from "../qemu/qemu-binary.js";

type Progress = (message: string) => void;

/**
 * A Debian root filesystem being made into the guest image. As root, mmdebstrap writes it with
 * real ownership. As a normal user, mmdebstrap runs in a user namespace (--mode=unshare) and
 * writes a tarball, which is unpacked under fakeroot; fakeroot's state file keeps every file's
 * owner and device nodes, so mke2fs -d, also under fakeroot, records them as root made them.
 */
export interface Rootfs {
  readonly dir: string;
  /** Packs the tree into a raw ext4 image. */
  pack(image: string, sizeMiB: number): Promise<void>;
}

function lastLines(text: string, count = 3): string {
  return text.trim().split("\n").slice(-count).join(" | ");
}

/** mke2fs -d: a raw ext4 image without a loop mount; no journal (the root is a throwaway overlay). */
function mke2fsArgs(dir: string, image: string, sizeMiB: number): string[] {
  return [
    "-q",
    "-F",
    "-t",
    "ext4",
    "-L",
    "bb-root",
    "-m",
    "0",
    "-O",
    "^has_journal",
    "-E",
    "lazy_itable_init=0,lazy_journal_init=0,root_owner=0:0",
    "-d",
    dir,
    image,
    `${sizeMiB}M`,
  ];
}

/**
 * mmdebstrap's customize hooks that make the Debian tree ours, run as root inside it in either
 * mode: the packages' SSH host keys and sshd drop-ins go, our staged files (PID 1, sshd config,
 * keys...) are synced in as root's, and root's shell becomes dash (it runs every SSH command,
 * and starts much faster than bash under TCG). Fixed text: nothing from the user is in it.
 */
function customizeHooks(overlay: string, paths: readonly string[]): string[] {
  if (/\s/.test(overlay)) {
    throw new EnvironmentError(`the image build directory ${overlay} contains white space`, {
      hint: "set XDG_CACHE_HOME to a path without spaces",
    });
  }
  return [
    '--customize-hook=rm -f "$1"/etc/ssh/ssh_host_* && rm -rf "$1"/etc/ssh/sshd_config.d',
    `--customize-hook=sync-in ${overlay} /`,
    // sync-in keeps the staging user's ids: our files are root's in the guest.
    `--customize-hook=cd "$1" && chown -h 0:0 ${paths.join(" ")}`,
    `--customize-hook=sed -i 's#^\\(root:[^:]*:0:0:[^:]*:[^:]*:\\)/bin/bash$#\\1/bin/sh#' "$1"/etc/passwd`,
  ];
}

/** Every path of the staged tree, relative ("etc", "etc/fstab", ...), for the ownership hook. */
async function stagedPaths(overlay: string): Promise<string[]> {
  const entries = await readdir(overlay, { recursive: true });
  const paths = entries.map((e) => String(e)).sort();
  for (const path of paths) {
    if (!/^[A-Za-z0-9._/-]+$/.test(path)) throw new Error(`unexpected staged path ${path}`);
  }
  return paths;
}

async function mmdebstrap(
  recipe: ImageRecipe,
  target: string,
  overlay: string,
  extra: readonly string[],
): Promise<void> {
  const args = mmdebstrapArgs(recipe, join(imagesDir(), "dpkg-excludes"), target);
  const paths = await stagedPaths(overlay);
  const env = extra.includes("--mode=unshare") ? { TMPDIR: await namespaceTmpDir() } : {};
  const result = await execa("mmdebstrap", [...extra, ...customizeHooks(overlay, paths), ...args], {
    reject: false,
    all: true,
    env,
  });
  if (result.exitCode !== 0) {
    throw new EnvironmentError(
      `mmdebstrap failed (exit ${String(result.exitCode)}): ${lastLines(result.all ?? "")}`,
      { hint: "check that Debian's package mirror is reachable (`apt-get update`)" },
    );
  }
}

/**
 * Whether this user can build the image without root: newuidmap (uidmap) and subordinate ids
 * for the user namespace, fakeroot, and user namespaces allowed. Undefined when it can; else
 * the problem and its fix, in one line each.
 */
export async function rootlessProblem(): Promise<{ problem: string; fix: string } | undefined> {
  for (const [tool, pkg] of [
    ["newuidmap", "uidmap"],
    ["fakeroot", "fakeroot"],
    ["mmdebstrap", "mmdebstrap"],
  ] as const) {
    if ((await findOnPath(tool)) === undefined)
      return {
        problem: `${tool} is not installed`,
        fix: `sudo apt-get install ${pkg} (or bash scripts/install-deps.sh)`,
      };
  }
  const probe = await execa("unshare", ["--user", "--map-root-user", "true"], { reject: false });
  if (probe.exitCode !== 0) {
    return {
      problem: `user namespaces are not available (${lastLines(probe.stderr, 1)})`,
      fix: "enable them (sysctl kernel.unprivileged_userns_clone=1, or user.max_user_namespaces > 0), or build once as root: sudo balloon-bench image build",
    };
  }
  const user = (await execa("id", ["-un"])).stdout.trim();
  const subuid = await execa("grep", ["-q", `^${user}:`, "/etc/subuid"], { reject: false });
  if (subuid.exitCode !== 0) {
    return {
      problem: `user ${user} has no subordinate ids in /etc/subuid`,
      fix: `sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}`,
    };
  }
  return undefined;
}

/** Whether every directory from `path` up to / lets other users through (o+x). */
async function traversableByOthers(path: string): Promise<boolean> {
  for (let current = path; ; current = dirname(current)) {
    const mode = await stat(current).then(
      (s) => s.mode,
      () => 0,
    );
    if ((mode & 0o001) === 0) return false;
    if (dirname(current) === current) return true;
  }
}

/**
 * mmdebstrap's work directory in unshare mode belongs to a subordinate uid, which must reach it:
 * a private TMPDIR (libpam-tmpdir's /tmp/user/UID, 0700) cannot hold it, so /tmp is used then.
 */
async function namespaceTmpDir(): Promise<string> {
  const own = tmpdir();
  if (await traversableByOthers(own)) return own;
  if (await traversableByOthers("/tmp")) return "/tmp";
  throw new EnvironmentError(
    `cannot build the guest image as this user: TMPDIR ${own} and /tmp are not reachable by your subordinate uids`,
    { hint: "set TMPDIR to a directory other users can traverse (e.g. TMPDIR=/var/tmp)" },
  );
}

/** As root: mmdebstrap writes the tree with real ownership. */
async function rootfsAsRoot(recipe: ImageRecipe, work: string, overlay: string): Promise<Rootfs> {
  const dir = join(work, "rootfs");
  await mmdebstrap(recipe, dir, overlay, []);
  return {
    dir,
    pack: async (image, sizeMiB) => {
      await execa("mke2fs", mke2fsArgs(dir, image, sizeMiB));
    },
  };
}

/** As a normal user: mmdebstrap in a user namespace, then fakeroot keeps the ownership. */
async function rootfsRootless(recipe: ImageRecipe, work: string, overlay: string): Promise<Rootfs> {
  const problem = await rootlessProblem();
  if (problem !== undefined) {
    throw new EnvironmentError(`cannot build the guest image as this user: ${problem.problem}`, {
      hint: problem.fix,
    });
  }
  const tarball = join(work, "rootfs.tar");
  const dir = join(work, "rootfs");
  const state = join(work, "fakeroot.state");
  await mmdebstrap(recipe, tarball, overlay, ["--mode=unshare"]);
  await execa("mkdir", ["-p", dir]);
  await execa("fakeroot", ["-s", state, "--", "tar", "-xpf", tarball, "-C", dir]);
  await execa("rm", ["-f", tarball]);
  return {
    dir,
    // Nothing changes the tree between the two fakeroot sessions: its state file stays exact.
    pack: async (image, sizeMiB) => {
      await execa("fakeroot", ["-i", state, "--", "mke2fs", ...mke2fsArgs(dir, image, sizeMiB)]);
    },
  };
}

/** The recipe's root filesystem, made as root or without (see Rootfs). */
export async function bootstrapRootfs(
  recipe: ImageRecipe,
  work: string,
  overlay: string,
  progress: Progress,
): Promise<Rootfs> {
  const asRoot = typeof process.getuid !== "function" || process.getuid() === 0;
  progress(
    `image: mmdebstrap ${recipe.suite} (${recipe.packages.join(", ")})${asRoot ? "" : " in a user namespace (not root)"}`,
  );
  const started = Date.now();
  const rootfs = asRoot
    ? await rootfsAsRoot(recipe, work, overlay)
    : await rootfsRootless(recipe, work, overlay);
  progress(
    `image: rootfs ready in ${((Date.now() - started) / 1000).toFixed(1)} s (our files in it)`,
  );
  return rootfs;
}
