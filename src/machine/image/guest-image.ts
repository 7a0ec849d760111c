import { chmod, copyFile, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { EnvironmentError } from "../../core/errors.js";
import { parseOpenSshPublicKey, type PinnedHostKey } from "../../core/protocol/host-key.js";
import { imagesDir } from "../../util/assets.js";
import { bootstrapRootfs } from "./rootfs.js";
import {
  GUEST_FILES,
  defaultRecipe,
  recipeHash,
  type ImageRecipe,
} from "../../core/image/image-recipe.js";

/** A built guest image in the cache: never modified by a run (VMs boot from overlays). */
export interface GuestImage {
  readonly dir: string;
  readonly hash: string;
  /** Raw ext4 root filesystem. */
  readonly basePath: string;
  readonly clientKeyPath: string;
  readonly hostKey: PinnedHostKey;
  readonly hostKeyLine: string;
}

export interface ImageBuildProgress {
  (message: string): void;
}

export async function readGuestFiles(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of GUEST_FILES) files[name] = await readFile(join(imagesDir(), name), "utf8");
  return files;
}

export async function currentRecipe(): Promise<ImageRecipe> {
  return defaultRecipe(await readGuestFiles());
}

export function imageDir(cacheRoot: string, hash: string): string {
  return join(cacheRoot, "images", hash.slice(0, 16));
}

/** The cached image for this recipe, or undefined when it has not been built. */
export async function findGuestImage(
  cacheRoot: string,
  recipe: ImageRecipe,
): Promise<GuestImage | undefined> {
  const hash = recipeHash(recipe);
  const dir = imageDir(cacheRoot, hash);
  try {
    await stat(join(dir, "complete"));
  } catch {
    return undefined;
  }
  const hostKeyLine = (await readFile(join(dir, "host_ed25519.pub"), "utf8")).trim();
  return {
    dir,
    hash,
    basePath: join(dir, "base.img"),
    clientKeyPath: join(dir, "client_ed25519"),
    hostKey: parseOpenSshPublicKey(hostKeyLine),
    hostKeyLine,
  };
}

/** Returns the cached image, building it first when the recipe changed or `force` is set. */
export async function ensureGuestImage(
  cacheRoot: string,
  options: { force?: boolean; progress?: ImageBuildProgress } = {},
): Promise<GuestImage & { built: boolean }> {
  const recipe = await currentRecipe();
  if (options.force !== true) {
    const cached = await findGuestImage(cacheRoot, recipe);
    if (cached !== undefined) return { ...cached, built: false };
  }
  await buildGuestImage(cacheRoot, recipe, options.progress ?? (() => undefined));
  const image = await findGuestImage(cacheRoot, recipe);
  if (image === undefined) throw new EnvironmentError("image build finished but left no image");
  return { ...image, built: true };
}

/**
 * Builds the image: mmdebstrap a bookworm minbase rootfs, install our PID 1, sshd config and
 * fstab, generate the guest's host key and the client key (so the client can pin the host key),
 * and make a raw ext4 image with `mke2fs -d` (no loop mount). Atomic: built beside, renamed in.
 */
export async function buildGuestImage(
  cacheRoot: string,
  recipe: ImageRecipe,
  progress: ImageBuildProgress,
): Promise<void> {
  const hash = recipeHash(recipe);
  const dir = imageDir(cacheRoot, hash);
  const work = `${dir}.tmp-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true, mode: 0o700 });
  try {
    await generateKeys(work);
    const rootfs = await bootstrapRootfs(recipe, work, await stageGuestFiles(work), progress);
    await writeFile(
      join(work, "recipe.json"),
      `${JSON.stringify({ hash, ...recipe, files: Object.keys(recipe.files) }, null, 2)}\n`,
    );
    progress(`image: mke2fs -d (${recipe.imageSizeMiB} MiB ext4)`);
    await rootfs.pack(join(work, "base.img"), recipe.imageSizeMiB);
    await chmod(join(work, "base.img"), 0o444);
    await rm(rootfs.dir, { recursive: true, force: true });
    await writeFile(join(work, "complete"), `${new Date().toISOString()}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
    progress(`image: built ${dir}`);
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
}

async function generateKeys(work: string): Promise<void> {
  for (const [name, comment] of [
    ["host_ed25519", "balloon-bench-guest-host-key"],
    ["client_ed25519", "balloon-bench-client"],
  ] as const) {
    await execa("ssh-keygen", [
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-C",
      comment,
      "-f",
      join(work, name),
    ]);
  }
}

/**
 * Our files, staged as a tree of their final paths and modes (mmdebstrap copies it into the root
 * filesystem as root's, in either build mode): PID 1, sshd config, fstab, the keys, hostname.
 * Paths are the real ones of a merged-/usr tree: a staged `sbin/` or `lib/` would replace the
 * symlinks /sbin and /lib with directories (and leave the kernel no /sbin/init to run).
 */
async function stageGuestFiles(work: string): Promise<string> {
  const images = imagesDir();
  const overlay = join(work, "overlay");
  const install = async (from: string, to: string, mode: number): Promise<void> => {
    await mkdir(dirname(join(overlay, to)), { recursive: true });
    await copyFile(from, join(overlay, to));
    await chmod(join(overlay, to), mode);
  };
  await install(join(images, "guest-init.sh"), "usr/sbin/init", 0o755);
  await install(join(images, "sshd_config"), "etc/ssh/sshd_config", 0o644);
  await install(join(images, "fstab"), "etc/fstab", 0o644);
  await install(join(work, "host_ed25519"), "etc/ssh/ssh_host_ed25519_key", 0o600);
  await install(join(work, "host_ed25519.pub"), "etc/ssh/ssh_host_ed25519_key.pub", 0o644);
  await rm(join(work, "host_ed25519"));
  await mkdir(join(overlay, "root/.ssh"), { recursive: true, mode: 0o700 });
  await chmod(join(overlay, "root"), 0o700);
  await chmod(join(overlay, "root/.ssh"), 0o700);
  await install(join(work, "client_ed25519.pub"), "root/.ssh/authorized_keys", 0o600);
  await writeFile(join(overlay, "etc/hostname"), "balloon-bench\n");
  await writeFile(join(overlay, "etc/hosts"), "127.0.0.1\tlocalhost\n127.0.1.1\tballoon-bench\n");
  await mkdir(join(overlay, "usr/lib/modules"), { recursive: true });
  await writeFile(join(overlay, "etc/machine-id"), "");
  // tar in sync-in applies the staged directories' modes to the tree's: make them the usual.
  for (const dir of ["", "etc", "etc/ssh", "usr", "usr/sbin", "usr/lib", "usr/lib/modules"]) {
    await chmod(join(overlay, dir), 0o755);
  }
  return overlay;
}
