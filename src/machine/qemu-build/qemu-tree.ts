import { createHash } from "node:crypto";
import { readFile, readdir, readlink, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { UsageError } from "../../core/errors.js";
import { requiredMesonVersion } from "../../core/qemu-build/qemu-build-recipe.js";

/** A checked QEMU source tree. */
export interface QemuTree {
  readonly dir: string;
  /** Contents of VERSION, e.g. "10.0.13". */
  readonly version: string;
  /** The meson version its meson.build asks for, e.g. "1.5.0". */
  readonly mesonRequired: string | undefined;
  /** A meson wheel in python/wheels (git checkouts): configure installs it into its venv. */
  readonly bundlesMeson: boolean;
}

/** Top-level entries left out of the copy and the hash: VCS data and in-tree build dirs. */
export const TREE_EXCLUDES: readonly string[] = [".git", "build"];

const NOT_QEMU_HINT =
  "pass --tree with a QEMU git checkout or an unpacked source package (apt-get source qemu)";

/** Checks that DIR is a QEMU source tree (one-line UsageError otherwise). */
export async function checkQemuTree(tree: string): Promise<QemuTree> {
  const dir = resolve(tree);
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new UsageError(`--tree '${tree}' does not exist`, { hint: NOT_QEMU_HINT });
  }
  if (!info.isDirectory()) {
    throw new UsageError(`--tree '${tree}' is not a directory`, { hint: NOT_QEMU_HINT });
  }
  const mesonBuild = await readOptional(join(dir, "meson.build"));
  const version = await readOptional(join(dir, "VERSION"));
  const configure = await readOptional(join(dir, "configure"));
  if (
    mesonBuild === undefined ||
    !/project\(\s*'qemu'/.test(mesonBuild) ||
    version === undefined ||
    configure === undefined
  ) {
    throw new UsageError(
      `'${tree}' is not a QEMU source tree (no configure, VERSION and meson.build with project('qemu'))`,
      { hint: NOT_QEMU_HINT },
    );
  }
  const wheels = await readdir(join(dir, "python", "wheels")).catch(() => [] as string[]);
  return {
    dir,
    version: version.trim(),
    mesonRequired: requiredMesonVersion(mesonBuild),
    bundlesMeson: wheels.some((name) => /^meson-.*\.whl$/.test(name)),
  };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * sha256 of the tree's content: every file's relative path, executable bit and bytes, every
 * symlink's target, in sorted order; TREE_EXCLUDES at the top level are left out.
 */
export async function hashQemuTree(dir: string): Promise<string> {
  const hash = createHash("sha256");
  await hashDir(dir, "", hash);
  return hash.digest("hex");
}

async function hashDir(root: string, relative: string, hash: ReturnType<typeof createHash>) {
  const entries = await readdir(join(root, relative), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
    if (relative === "" && TREE_EXCLUDES.includes(entry.name)) continue;
    const full = join(root, path);
    if (entry.isDirectory()) {
      await hashDir(root, path, hash);
    } else if (entry.isSymbolicLink()) {
      hash.update(`l ${path}\0${await readlink(full)}\0`);
    } else if (entry.isFile()) {
      const mode = (await stat(full)).mode & 0o111 ? "x" : "f";
      const content = createHash("sha256")
        .update(await readFile(full))
        .digest("hex");
      hash.update(`${mode} ${path}\0${content}\0`);
    }
  }
}
