import { cp, mkdir, readFile, realpath, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { EnvironmentError, UsageError } from "../../core/errors.js";
import { dirtyStateSha256, type SourceIdentity } from "../../core/kernel/build-key.js";
import { describeApplyFailure, parseApplyFailure, type MboxPatch } from "../../core/kernel/mbox.js";
import { hashTreeContent, sha256OfFile } from "./tree-hash.js";
import { pathExists } from "../../util/path-exists.js";

/**
 * A kernel source the user has, inspected without writing to it: a git work tree (its HEAD or a
 * --ref, plus uncommitted changes), or an unpacked source without .git (by content hash).
 */
export type InspectedSource =
  | {
      readonly kind: "git";
      readonly tree: string;
      readonly commit: string;
      readonly useWorkTree: boolean;
    }
  | { readonly kind: "tree"; readonly tree: string };

/**
 * git as a reader of the user's repository: no optional locks (a plain `git diff` may otherwise
 * refresh the index), and any owner accepted (root reading a user's checkout).
 */
function gitRead(tree: string, args: readonly string[], options: { encoding?: "buffer" } = {}) {
  return execa("git", ["-c", "safe.directory=*", "-C", tree, ...args], {
    reject: false,
    env: { GIT_OPTIONAL_LOCKS: "0", LC_ALL: "C" },
    stripFinalNewline: false,
    maxBuffer: 1024 * 1024 * 1024,
    ...(options.encoding === "buffer" ? { encoding: "buffer" as const } : {}),
  });
}

/** The tree's kind; a directory inside some other repository is a plain tree, not that repo. */
export async function inspectSource(
  treeArg: string,
  ref: string | undefined,
): Promise<InspectedSource> {
  let tree: string;
  try {
    tree = await realpath(treeArg);
  } catch {
    throw new UsageError(`kernel tree '${treeArg}' does not exist`, {
      hint: "pass --tree DIR, a kernel source checkout",
    });
  }
  if (!(await pathExists(join(tree, "Makefile"))) || !(await pathExists(join(tree, "Kconfig")))) {
    throw new UsageError(
      `'${treeArg}' is not a kernel source tree (no Makefile and Kconfig at its top)`,
      {
        hint: "pass the top folder of a Linux source checkout or of an unpacked linux-source tarball",
      },
    );
  }
  const top = await gitRead(tree, ["rev-parse", "--show-toplevel"]);
  const isGit =
    top.exitCode === 0 && (await realpath(String(top.stdout).trim()).catch(() => "")) === tree;
  if (!isGit) {
    if (ref !== undefined) {
      throw new UsageError(`--ref ${ref} needs a git checkout, and ${treeArg} is not one`, {
        hint: "drop --ref to build the tree as it is, or pass a git checkout",
      });
    }
    return { kind: "tree", tree };
  }
  const wanted = ref ?? "HEAD";
  const rev = await gitRead(tree, ["rev-parse", "--verify", "--quiet", `${wanted}^{commit}`]);
  if (rev.exitCode !== 0) {
    throw new UsageError(
      `${ref === undefined ? "the checkout has no commit (HEAD)" : `--ref '${ref}' names no commit`} in ${treeArg}`,
      {
        hint: "pass a branch, tag or commit id that `git rev-parse` knows in that tree",
      },
    );
  }
  const commit = String(rev.stdout).trim();
  return { kind: "git", tree, commit, useWorkTree: ref === undefined };
}

/** A git work tree's uncommitted state, read once: what is hashed is what is replayed. */
export interface WorkTreeState {
  readonly diff: Uint8Array;
  readonly untracked: readonly { readonly path: string; readonly sha256: string }[];
}

async function untrackedFiles(tree: string): Promise<string[]> {
  const result = await gitRead(tree, ["ls-files", "-z", "--others", "--exclude-standard"]);
  return String(result.stdout)
    .split("\0")
    .filter((p) => p !== "");
}

/** The source identity (patches included): cheap for git, a content hash for a plain tree. */
export async function identifySource(
  source: InspectedSource,
  patches: readonly MboxPatch[],
  statCacheDir: string,
): Promise<{ identity: SourceIdentity; workTree: WorkTreeState | undefined }> {
  const patchIds = patches.map((p) => ({ subject: p.subject, sha256: p.sha256 }));
  if (source.kind === "tree") {
    const content = await hashTreeContent(source.tree, statCacheDir);
    return {
      identity: { kind: "tree", contentSha256: content.sha256, patches: patchIds },
      workTree: undefined,
    };
  }
  if (!source.useWorkTree) {
    return {
      identity: { kind: "git", commit: source.commit, patches: patchIds },
      workTree: undefined,
    };
  }
  const result = await gitRead(
    source.tree,
    ["diff", "--binary", "--no-ext-diff", "--no-color", "HEAD"],
    { encoding: "buffer" },
  );
  if (result.exitCode !== 0) throw new EnvironmentError(`git diff HEAD failed in ${source.tree}`);
  const diff = result.stdout as unknown as Uint8Array;
  const untracked: { path: string; sha256: string }[] = [];
  for (const path of await untrackedFiles(source.tree)) {
    const full = join(source.tree, path);
    const info = await stat(full).catch(() => undefined);
    if (info?.isFile() === true) untracked.push({ path, sha256: await sha256OfFile(full) });
  }
  const dirtyDiffSha256 = dirtyStateSha256(diff, untracked);
  return {
    identity: { kind: "git", commit: source.commit, dirtyDiffSha256, patches: patchIds },
    workTree: dirtyDiffSha256 === undefined ? undefined : { diff, untracked },
  };
}

async function gitIn(dest: string, args: readonly string[], input?: string | Uint8Array) {
  // No automatic gc/maintenance in the throw-away copy: it would only spend CPU.
  return execa("git", ["-c", "gc.auto=0", "-c", "maintenance.auto=false", "-C", dest, ...args], {
    reject: false,
    all: true,
    env: { LC_ALL: "C", GIT_CEILING_DIRECTORIES: dirname(dest) },
    ...(input === undefined ? {} : { input }),
  });
}

/** The work tree's uncommitted changes and untracked files, replayed into the copy only. */
async function replayWorkTree(
  source: Extract<InspectedSource, { kind: "git" }>,
  workTree: WorkTreeState | undefined,
  dest: string,
  log: (line: string) => Promise<void>,
): Promise<void> {
  if (workTree !== undefined) {
    // Replayed into the copy's work tree only (no `git add`/commit: see applyPatches).
    if (workTree.diff.length > 0) {
      const applied = await gitIn(dest, ["apply", "--binary", "-"], workTree.diff);
      if (applied.exitCode !== 0) {
        throw new EnvironmentError(
          `could not replay the uncommitted changes of ${source.tree}: ${lastLine(String(applied.all))}`,
        );
      }
    }
    for (const { path } of workTree.untracked) {
      const from = join(source.tree, path);
      await mkdir(dirname(join(dest, path)), { recursive: true });
      await cp(from, join(dest, path), { preserveTimestamps: true });
    }
    await log(`source: ${source.tree} at ${source.commit} with its uncommitted changes`);
  } else {
    await log(`source: ${source.tree} at ${source.commit}`);
  }
}

/**
 * Writes the source to build into `dest` (which must not exist), never touching the user's tree:
 * a git tree through `git clone --shared --no-checkout` (the clone reads the user's objects
 * through alternates) and a checkout of the commit, plus the work tree's uncommitted changes
 * when building it as it is; a plain tree by copying it. Then applies the patches, one message at
 * a time, failing with the patch and file that did not apply. Writes nothing but `dest`: no
 * object is written in the clone, so none is "freshened" in the user's object store either.
 */
export async function exportSource(
  source: InspectedSource,
  workTree: WorkTreeState | undefined,
  patches: readonly MboxPatch[],
  dest: string,
  log: (line: string) => Promise<void>,
): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  if (source.kind === "git") {
    const clone = await execa(
      "git",
      [
        "-c",
        "safe.directory=*",
        "clone",
        "--quiet",
        "--shared",
        "--no-checkout",
        source.tree,
        dest,
      ],
      { reject: false, all: true, env: { LC_ALL: "C", GIT_CEILING_DIRECTORIES: dirname(dest) } },
    );
    if (clone.exitCode !== 0)
      throw new EnvironmentError(
        `git clone --shared ${source.tree} failed: ${lastLine(String(clone.all))}`,
      );
    const checkout = await gitIn(dest, ["checkout", "--quiet", "--detach", source.commit]);
    if (checkout.exitCode !== 0)
      throw new EnvironmentError(
        `git checkout ${source.commit} failed: ${lastLine(String(checkout.all))}`,
      );
    await replayWorkTree(source, workTree, dest, log);
  } else {
    const copy = await execa("cp", ["-a", "--reflink=auto", `${source.tree}/.`, dest], {
      reject: false,
      all: true,
    });
    if (copy.exitCode !== 0)
      throw new EnvironmentError(`copying ${source.tree} failed: ${lastLine(String(copy.all))}`);
    await log(`source: copy of ${source.tree}`);
  }
  await applyPatches(patches, dest, log);
}

/**
 * Applies the series to the copy's work tree the way `git am` does — `git mailinfo` decodes each
 * message (transfer encodings, charsets) and splits off its patch, then `git apply` applies it,
 * with am's defaults (no 3-way, no fuzz) — but without committing. `git am` would write blobs,
 * trees and commits, and through the clone's alternates git "freshens" (touches) every object
 * that already exists in the user's repository: a write into their .git. The patches' subjects
 * and hashes are recorded in the build's identity instead of commits.
 */
async function applyPatches(
  patches: readonly MboxPatch[],
  dest: string,
  log: (line: string) => Promise<void>,
): Promise<void> {
  if (patches.length === 0) return;
  const dir = `${dest}.patches`;
  await mkdir(dir, { recursive: true });
  const env = { LC_ALL: "C", GIT_CEILING_DIRECTORIES: dirname(dest) };
  try {
    for (const patch of patches) {
      const stem = join(dir, String(patch.index).padStart(4, "0"));
      const info = await execa("git", ["mailinfo", `${stem}.msg`, `${stem}.patch`], {
        cwd: dir,
        input: patch.text,
        reject: false,
        all: true,
        env,
      });
      if (info.exitCode !== 0) {
        throw new UsageError(
          `patch ${patch.index}/${patches.length} '${patch.subject}' is not a mail git can read: ${lastLine(String(info.all))}`,
          {
            hint: "pass the series as `b4 am` or `git format-patch --stdout` writes it",
          },
        );
      }
      const result = await execa("git", ["apply", "--verbose", `${stem}.patch`], {
        cwd: dest,
        reject: false,
        all: true,
        env,
      });
      const output = String(result.all ?? "");
      await log(
        `patch ${patch.index}/${patches.length} '${patch.subject}': ${result.exitCode === 0 ? "applied" : "FAILED"}\n${output}`,
      );
      if (result.exitCode !== 0) {
        const failure = parseApplyFailure(output, patches, patch);
        throw new UsageError(describeApplyFailure(failure, patches.length), {
          hint: "rebase the series onto the source you build (or pick the --ref it was written for)",
        });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reads each mbox file (a missing one is a usage error). */
export async function readPatchFiles(
  paths: readonly string[],
): Promise<{ path: string; text: string }[]> {
  const out: { path: string; text: string }[] = [];
  for (const path of paths) {
    try {
      out.push({ path, text: await readFile(path, "utf8") });
    } catch {
      throw new UsageError(`patch series '${path}' cannot be read`, {
        hint: "pass an mbox file, as `b4 am` or `git format-patch --stdout` writes it",
      });
    }
  }
  return out;
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}
