import { createHash } from "node:crypto";
import { copyFile, lstat, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { EnvironmentError, UsageError } from "../../core/errors.js";
import { moduleDecompressor } from "../../core/kernel/kernel-modules.js";
import {
  depmodArgv,
  layoutUnder,
  modulesLayoutCandidates,
  type ModulesLayout,
} from "../../core/kernel/modules-layout.js";
import { pathExists } from "../../util/path-exists.js";

/**
 * A modules tree as the user has it (`modules=DIR`): lib/modules or usr/lib/modules layouts,
 * with or without modules.dep (prepared by depmod on a copy in the cache), .ko/.ko.xz/.ko.zst.
 */

/**
 * The folder with the modules of `release` and its depmod index. A tree without modules.dep (a
 * kernel package unpacked with dpkg-deb, a modules_install run with DEPMOD=true) is copied into
 * the kernel's cache folder and depmod'ed there: the user's tree is only read.
 */
export async function findModulesRoot(
  modulesDir: string,
  release: string,
  kernelCacheDir: string,
  progress: (message: string) => void,
): Promise<string> {
  const candidates = modulesLayoutCandidates(modulesDir, release);
  for (const candidate of candidates) {
    if (await pathExists(join(candidate.releaseDir, "modules.dep"))) return candidate.releaseDir;
  }
  for (const candidate of candidates) {
    if (await isModulesFolder(candidate.releaseDir)) {
      return prepareModulesCopy(candidate, release, kernelCacheDir, progress);
    }
  }
  const others = await releasesIn(modulesDir);
  throw new UsageError(
    `modules tree '${modulesDir}' has no lib/modules/${release} nor usr/lib/modules/${release} (the kernel image is ${release}${others.length === 0 ? "" : `; the tree has ${others.join(", ")}`})`,
    {
      hint: "pass the INSTALL_MOD_PATH of `make modules_install` (or the unpacked kernel package) of this very kernel build",
    },
  );
}

/** A release folder: has a kernel/ subfolder or a modules.order / modules.builtin file. */
async function isModulesFolder(dir: string): Promise<boolean> {
  const info = await stat(dir).catch(() => undefined);
  if (info?.isDirectory() !== true) return false;
  for (const name of ["kernel", "modules.order", "modules.builtin"])
    if (await pathExists(join(dir, name))) return true;
  return false;
}

async function releasesIn(modulesDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const sub of ["lib/modules", "usr/lib/modules", "."]) {
    const names = await readdir(join(modulesDir, sub)).catch(() => [] as string[]);
    for (const name of names)
      if (await isModulesFolder(join(modulesDir, sub, name))) found.push(join(sub, name));
  }
  return found;
}

/** (path, size, mtime) of every file under dir: identifies a modules tree's state cheaply. */
async function listingHash(dir: string): Promise<string> {
  const hash = createHash("sha256");
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walk(path);
      else {
        const info = await lstat(join(dir, path));
        hash.update(`${path}\0${info.size}\0${info.mtimeMs}\n`);
      }
    }
  };
  await walk("");
  return hash.digest("hex");
}

/** Copies the release folder into the cache (keeping its layout) and runs depmod on the copy. */
async function prepareModulesCopy(
  layout: ModulesLayout,
  release: string,
  kernelCacheDir: string,
  progress: (message: string) => void,
): Promise<string> {
  const key = createHash("sha256")
    .update(`${layout.kind}\0${release}\0${await listingHash(layout.releaseDir)}`)
    .digest("hex")
    .slice(0, 12);
  const root = join(kernelCacheDir, `modules-depmod-${key}`);
  const target = layoutUnder(root, layout, release);
  if (await pathExists(join(target.releaseDir, "modules.dep"))) return target.releaseDir;
  const work = `${root}.tmp-${process.pid}`;
  const staged = layoutUnder(work, layout, release);
  progress(
    `kernel: ${layout.releaseDir} has no modules.dep; running depmod on a copy in the cache (the tree is left as it is)`,
  );
  await rm(work, { recursive: true, force: true });
  try {
    await mkdir(join(staged.releaseDir, ".."), { recursive: true });
    // A real copy (no hardlinks): depmod writes only into the copy.
    const copy = await execa(
      "cp",
      ["-R", "--preserve=mode,timestamps", "--reflink=auto", layout.releaseDir, staged.releaseDir],
      {
        reject: false,
      },
    );
    if (copy.exitCode !== 0) {
      throw new EnvironmentError(
        `copying the modules tree ${layout.releaseDir} failed: ${copy.stderr.split("\n")[0] ?? ""}`,
      );
    }
    // build/ and source/ point at the build machine's trees: meaningless in the guest.
    for (const link of ["build", "source"])
      await rm(join(staged.releaseDir, link), { force: true });
    const base = staged.depmodBase ?? work;
    const depmod = await execa("depmod", depmodArgv(base, release), { reject: false });
    if (depmod.exitCode !== 0 || !(await pathExists(join(staged.releaseDir, "modules.dep")))) {
      throw new EnvironmentError(
        `depmod ${depmodArgv(base, release).join(" ")} failed on the copy of ${layout.releaseDir}: ${depmod.stderr.split("\n")[0] ?? ""}`,
        {
          hint: "install kmod (depmod); for .ko.xz / .ko.zst modules it must be built with xz / zstd (Debian's is)",
        },
      );
    }
    await rename(work, root);
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    if (await pathExists(join(target.releaseDir, "modules.dep"))) return target.releaseDir; // a parallel run won
    throw error;
  }
  return target.releaseDir;
}

/** Copies one module into the initramfs, decompressed (busybox insmod may not read xz/zstd). */
export async function copyModuleDecompressed(from: string, to: string): Promise<void> {
  const decompressor = moduleDecompressor(from);
  if (decompressor === undefined) {
    await copyFile(from, to);
    return;
  }
  const result = await execa(decompressor[0], [...decompressor[1], from], {
    stdout: { file: to },
    reject: false,
  });
  if (result.exitCode !== 0) {
    throw new EnvironmentError(
      `${decompressor[0]} could not decompress ${from}: ${result.stderr.split("\n")[0] ?? ""}`,
      { hint: "install xz-utils and zstd" },
    );
  }
}
