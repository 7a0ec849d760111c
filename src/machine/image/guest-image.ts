import {
  chmod,
  copyFile,
  mkdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
  readdir,
} from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { EnvironmentError } from "../../core/errors.js";
import { parseOpenSshPublicKey, type PinnedHostKey } from "../../core/protocol/host-key.js";
import { imagesDir } from "../../util/assets.js";
import {
  GUEST_FILES,
  defaultRecipe,
  mmdebstrapArgs,
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
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new EnvironmentError(
      "building the guest image needs root (mmdebstrap must create root-owned files)",
      {
        hint: "run `sudo balloon-bench image build` once; runs use the cached image afterwards",
      },
    );
  }
  const hash = recipeHash(recipe);
  const dir = imageDir(cacheRoot, hash);
  const work = `${dir}.tmp-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true, mode: 0o700 });
  try {
    const rootfs = join(work, "rootfs");
    await bootstrapRootfs(recipe, rootfs, progress);
    await generateKeys(work);
    await installGuestFiles(rootfs, work);
    await writeFile(
      join(work, "recipe.json"),
      `${JSON.stringify({ hash, ...recipe, files: Object.keys(recipe.files) }, null, 2)}\n`,
    );
    progress(`image: mke2fs -d (${recipe.imageSizeMiB} MiB ext4)`);
    await packExt4(rootfs, join(work, "base.img"), recipe.imageSizeMiB);
    await chmod(join(work, "base.img"), 0o444);
    await rm(rootfs, { recursive: true, force: true });
    await writeFile(join(work, "complete"), `${new Date().toISOString()}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
    progress(`image: built ${dir}`);
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
}

/** mmdebstrap the recipe's Debian root filesystem into `rootfs`. */
async function bootstrapRootfs(
  recipe: ImageRecipe,
  rootfs: string,
  progress: ImageBuildProgress,
): Promise<void> {
  progress(`image: mmdebstrap ${recipe.suite} (${recipe.packages.join(", ")})`);
  const started = Date.now();
  const result = await execa(
    "mmdebstrap",
    mmdebstrapArgs(recipe, join(imagesDir(), "dpkg-excludes"), rootfs),
    {
      reject: false,
      all: true,
    },
  );
  if (result.exitCode !== 0) {
    throw new EnvironmentError(
      `mmdebstrap failed (exit ${String(result.exitCode)}): ${lastLines(result.all ?? "")}`,
      { hint: "check that Debian's package mirror is reachable (`apt-get update`)" },
    );
  }
  progress(
    `image: rootfs ready in ${((Date.now() - started) / 1000).toFixed(1)} s; installing init, sshd config and keys`,
  );
}

/** A raw ext4 image of `dir`, without a loop mount; no journal: the root is a throwaway overlay. */
async function packExt4(dir: string, image: string, sizeMiB: number): Promise<void> {
  await execa("mke2fs", [
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
  ]);
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

async function installGuestFiles(rootfs: string, work: string): Promise<void> {
  const images = imagesDir();
  const install = async (from: string, to: string, mode: number): Promise<void> => {
    await copyFile(from, join(rootfs, to));
    await chmod(join(rootfs, to), mode);
  };
  await install(join(images, "guest-init.sh"), "sbin/init", 0o755);
  await install(join(images, "sshd_config"), "etc/ssh/sshd_config", 0o644);
  await install(join(images, "fstab"), "etc/fstab", 0o644);
  const sshDir = join(rootfs, "etc/ssh");
  for (const entry of await readdir(sshDir)) {
    if (entry.startsWith("ssh_host_")) await rm(join(sshDir, entry));
  }
  await rm(join(sshDir, "sshd_config.d"), { recursive: true, force: true });
  await install(join(work, "host_ed25519"), "etc/ssh/ssh_host_ed25519_key", 0o600);
  await install(join(work, "host_ed25519.pub"), "etc/ssh/ssh_host_ed25519_key.pub", 0o644);
  await rm(join(work, "host_ed25519"));
  await mkdir(join(rootfs, "root/.ssh"), { recursive: true, mode: 0o700 });
  await chmod(join(rootfs, "root/.ssh"), 0o700);
  await install(join(work, "client_ed25519.pub"), "root/.ssh/authorized_keys", 0o600);
  await writeFile(join(rootfs, "etc/hostname"), "balloon-bench\n");
  await writeFile(join(rootfs, "etc/hosts"), "127.0.0.1\tlocalhost\n127.0.1.1\tballoon-bench\n");
  await mkdir(join(rootfs, "lib/modules"), { recursive: true });
  await writeFile(join(rootfs, "etc/machine-id"), "");
  // Root's shell runs every SSH command: dash starts much faster than bash under TCG.
  const passwd = await readFile(join(rootfs, "etc/passwd"), "utf8");
  await writeFile(
    join(rootfs, "etc/passwd"),
    passwd.replace(/^(root:[^:]*:0:0:[^:]*:[^:]*:)\/bin\/bash$/m, "$1/bin/sh"),
  );
}

function lastLines(text: string, count = 3): string {
  return text.trim().split("\n").slice(-count).join(" | ");
}
