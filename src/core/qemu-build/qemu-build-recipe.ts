import { createHash } from "node:crypto";

/** Bumped when the way a tree is built changes, so old cached builds are not taken for new ones. */
export const QEMU_BUILD_RECIPE_VERSION = 1;

export const QEMU_BUILD_TARGET = "x86_64-softmmu";

/**
 * configure flags of a `qemu build`: x86_64-softmmu with what the tool needs (TCG, KVM, slirp user
 * networking), no GUI, no docs, no tools. The firmware comes from the host's packages
 * (qemu-system-data, seabios, ipxe-qemu): an unpacked Debian `+ds` source has no blobs.
 */
export const QEMU_CONFIGURE_FLAGS: readonly string[] = [
  `--target-list=${QEMU_BUILD_TARGET}`,
  "--enable-tcg",
  "--enable-kvm",
  "--enable-slirp",
  "--disable-docs",
  "--disable-user",
  "--disable-tools",
  "--disable-guest-agent",
  "--disable-gtk",
  "--disable-sdl",
  "--disable-opengl",
  "--disable-virglrenderer",
  "--disable-vnc",
  "--disable-libusb",
  "--disable-usb-redir",
  "--disable-spice",
  "--disable-spice-protocol",
  "--disable-curl",
  "--disable-capstone",
  "--disable-xen",
  "--disable-werror",
  "--disable-install-blobs",
  "--firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu",
];

/** All configure arguments: ours, then the user's extra ones (later flags win in configure). */
export function configureArgs(extra: readonly string[]): string[] {
  return [...QEMU_CONFIGURE_FLAGS, ...extra];
}

/** The cache key of a build: the tree's content hash, the configure arguments and the recipe. */
export function qemuBuildKey(treeHash: string, args: readonly string[]): string {
  return createHash("sha256")
    .update(JSON.stringify({ recipe: QEMU_BUILD_RECIPE_VERSION, treeHash, args }))
    .digest("hex")
    .slice(0, 16);
}

/** `meson_version: '>=1.5.0'` in a top-level meson.build, as "1.5.0". */
export function requiredMesonVersion(mesonBuild: string): string | undefined {
  return /meson_version\s*:\s*'>=\s*([0-9][0-9.]*)'/.exec(mesonBuild)?.[1];
}

/** Dotted version comparison: is `found` at least `required`? */
export function versionAtLeast(found: string, required: string): boolean {
  const a = found.split(".").map((part) => Number.parseInt(part, 10) || 0);
  const b = required.split(".").map((part) => Number.parseInt(part, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/** ninja's `[N/M] ...` progress, as {done, total}; undefined for other lines. */
export function ninjaProgress(line: string): { done: number; total: number } | undefined {
  const match = /^\[(\d+)\/(\d+)\]/.exec(line);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  return { done: Number(match[1]), total: Number(match[2]) };
}
