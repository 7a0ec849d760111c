import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { pathExists } from "../../util/path-exists.js";

/**
 * PVH boot: QEMU can start an uncompressed ELF vmlinux that carries the PVH entry note, skipping
 * the bzImage decompressor, which under TCG costs ~4 s for an xz kernel (measured). We extract
 * the vmlinux from the bzImage payload once per kernel and cache it.
 */

export type PayloadCompression =
  "xz" | "lz4" | "gzip" | "zstd" | "lzma" | "bzip2" | "lzo" | "unknown";

/** Boot protocol >= 2.08: payload_offset (0x248) and payload_length (0x24c) locate the payload. */
export function locatePayload(bzImage: Buffer): { offset: number; length: number } | undefined {
  if (bzImage.length < 0x250 || bzImage.toString("latin1", 0x202, 0x206) !== "HdrS")
    return undefined;
  if (bzImage.readUInt16LE(0x206) < 0x0208) return undefined;
  const setupSectors = bzImage[0x1f1] === 0 ? 4 : (bzImage[0x1f1] ?? 4);
  const protectedModeStart = (setupSectors + 1) * 512;
  const offset = protectedModeStart + bzImage.readUInt32LE(0x248);
  const length = bzImage.readUInt32LE(0x24c);
  return offset + length <= bzImage.length ? { offset, length } : undefined;
}

export function payloadCompression(payload: Buffer): PayloadCompression {
  const starts = (bytes: number[]): boolean => bytes.every((b, i) => payload[i] === b);
  if (starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return "xz";
  if (starts([0x02, 0x21, 0x4c, 0x18])) return "lz4";
  if (starts([0x1f, 0x8b])) return "gzip";
  if (starts([0x28, 0xb5, 0x2f, 0xfd])) return "zstd";
  if (starts([0x5d, 0x00, 0x00])) return "lzma";
  if (starts([0x42, 0x5a, 0x68])) return "bzip2";
  if (starts([0x89, 0x4c, 0x5a, 0x4f])) return "lzo";
  return "unknown";
}

/** Whether an ELF64 image has the Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY = 18). */
export function hasPvhNote(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 40 > elf.length || elf.readUInt32LE(ph) !== 4 /* PT_NOTE */) continue;
    let at = Number(elf.readBigUInt64LE(ph + 8));
    const end = at + Number(elf.readBigUInt64LE(ph + 32));
    while (at + 12 <= end && end <= elf.length) {
      const nameSize = elf.readUInt32LE(at);
      const descSize = elf.readUInt32LE(at + 4);
      const type = elf.readUInt32LE(at + 8);
      const name = elf.toString("latin1", at + 12, at + 12 + Math.max(0, nameSize - 1));
      if (name === "Xen" && type === 18) return true;
      at += 12 + align4(nameSize) + align4(descSize);
    }
  }
  return false;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

const DECOMPRESSORS: Partial<Record<PayloadCompression, [string, string[]]>> = {
  // The payload ends with 4 bytes of decompressed size: --single-stream ignores them.
  xz: ["xz", ["-dc", "--single-stream"]],
  lz4: ["lz4", ["-dc"]],
  gzip: ["gzip", ["-dc"]],
  zstd: ["zstd", ["-dc"]],
};

export interface PvhKernel {
  readonly vmlinuxPath: string;
  readonly compression: PayloadCompression;
}

/**
 * The cached PVH-bootable vmlinux for a bzImage, extracting it if needed; undefined when the
 * kernel cannot boot that way (no PVH note, or a compression we have no tool for).
 */
export async function ensurePvhVmlinux(
  kernelPath: string,
  cacheDirForKernel: string,
): Promise<PvhKernel | undefined> {
  const vmlinuxPath = join(cacheDirForKernel, "vmlinux");
  const marker = join(cacheDirForKernel, "vmlinux.none");
  if (await pathExists(marker)) return undefined;
  const bzImage = await readFile(kernelPath);
  const location = locatePayload(bzImage);
  const payload =
    location === undefined
      ? undefined
      : bzImage.subarray(location.offset, location.offset + location.length);
  const compression = payload === undefined ? "unknown" : payloadCompression(payload);
  if (await pathExists(vmlinuxPath)) return { vmlinuxPath, compression };
  const tool = DECOMPRESSORS[compression];
  if (payload === undefined || tool === undefined) {
    await mkdir(cacheDirForKernel, { recursive: true });
    await writeFile(marker, `no PVH boot: ${compression} payload\n`);
    return undefined;
  }
  await mkdir(cacheDirForKernel, { recursive: true });
  // Trailing size bytes make some tools exit non-zero after writing the whole ELF: judge the output.
  const tmp = `${vmlinuxPath}.tmp-${process.pid}`;
  const payloadPath = `${tmp}.payload`;
  await writeFile(payloadPath, payload);
  // The child writes straight into the file descriptor: through Node's pipe it took 12 s.
  const out = await open(tmp, "w");
  try {
    await new Promise<void>((resolve) => {
      const child = spawn(tool[0], [...tool[1], payloadPath], {
        stdio: ["ignore", out.fd, "ignore"],
      });
      child.on("error", () => resolve());
      child.on("close", () => resolve());
    });
  } finally {
    await out.close();
  }
  await rm(payloadPath, { force: true });
  const elf = await readFile(tmp).catch(() => Buffer.alloc(0));
  if (!hasPvhNote(elf)) {
    await rm(tmp, { force: true });
    await writeFile(
      marker,
      `no PVH boot: ${elf.length === 0 ? `${tool[0]} failed` : "no PVH note"}\n`,
    );
    return undefined;
  }
  await rename(tmp, vmlinuxPath);
  await rm(marker, { force: true });
  return { vmlinuxPath, compression };
}
