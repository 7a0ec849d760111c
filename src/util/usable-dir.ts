import { constants } from "node:fs";
import { access, statfs, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { UsageError } from "../core/errors.js";

/** statfs magic numbers of kernel pseudo-filesystems, where results can never live. */
const PSEUDO_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, "proc"],
  [0x62656572, "sysfs"],
  [0x1cd1, "devpts"],
  [0x64626720, "debugfs"],
  [0x74726163, "tracefs"],
  [0x27e0eb, "cgroup"],
  [0x63677270, "cgroup2"],
  [0x73636673, "securityfs"],
  [0x6e736673, "nsfs"],
]);

/** The deepest part of `path` that exists (the directory a mkdir -p would start from). */
async function nearestExisting(path: string): Promise<string> {
  let current = resolve(path);
  for (;;) {
    if (
      await stat(current).then(
        () => true,
        () => false,
      )
    )
      return current;
    const parent = dirname(current);
    if (parent === current) return current;
    current = parent;
  }
}

/**
 * Checks, before anything is created or booted, that `path` can hold results: not on a kernel
 * pseudo-filesystem (recursive mkdir never returns on /proc), writable, and with `minFreeMiB`
 * free. Every problem is a one-line UsageError naming the path and the fix.
 */
export async function checkUsableDir(
  path: string,
  flag: string,
  minFreeMiB: number,
): Promise<void> {
  const existing = await nearestExisting(path);
  const fs = await statfs(existing);
  const pseudo = PSEUDO_FILESYSTEMS.get(Number(fs.type));
  if (pseudo !== undefined) {
    throw new UsageError(
      `${flag} ${path} is on the ${pseudo} pseudo-filesystem, which cannot hold files`,
      {
        hint: `choose a directory on a real filesystem, e.g. ${flag} results/run-1`,
      },
    );
  }
  try {
    await access(existing, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `${flag} ${path}: ${existing} is ${code === "EROFS" ? "on a read-only filesystem" : "not writable by this user"}`,
      {
        hint: `choose a directory you can write to, e.g. under ${process.env["HOME"] ?? "your home"}`,
      },
    );
  }
  const freeMiB = (Number(fs.bavail) * Number(fs.bsize)) / 2 ** 20;
  if (freeMiB < minFreeMiB) {
    throw new UsageError(
      `${flag} ${path}: only ${freeMiB.toFixed(0)} MiB free on its filesystem, and a run needs at least ${minFreeMiB} MiB`,
      { hint: "free space there, or choose another directory" },
    );
  }
}
