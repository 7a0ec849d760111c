import { createHash } from "node:crypto";
import { open, readFile, stat } from "node:fs/promises";
import { UsageError } from "../../core/errors.js";

/** What the x86 boot protocol header of a bzImage says (Documentation/arch/x86/boot.rst). */
export interface KernelImageHeader {
  /** The version string, e.g. "6.1.0-41-amd64 (debian-kernel@lists.debian.org) #1 SMP ...". */
  readonly versionString: string;
  /** Its first word: the `uname -r` the kernel will report, and its modules directory name. */
  readonly release: string;
}

const HEADER_BYTES = 0x10200 + 256;

/**
 * Reads the boot header: "HdrS" at 0x202 marks a bzImage; the 16-bit kernel_version field at
 * 0x20e points (plus 0x200) at a NUL-terminated version string. Pure over the first bytes.
 */
export function parseKernelImageHeader(bytes: Buffer): KernelImageHeader | undefined {
  if (bytes.length < 0x210 || bytes.toString("latin1", 0x202, 0x206) !== "HdrS") return undefined;
  const pointer = bytes.readUInt16LE(0x20e) + 0x200;
  if (pointer >= bytes.length) return undefined;
  const end = bytes.indexOf(0, pointer);
  const versionString = bytes.toString(
    "latin1",
    pointer,
    end === -1 ? Math.min(bytes.length, pointer + 256) : end,
  );
  const release = versionString.split(" ")[0] ?? "";
  return release === "" ? undefined : { versionString, release };
}

/** Checks the file is a bootable x86 kernel image; a one-line error otherwise. */
export async function readKernelImageHeader(path: string): Promise<KernelImageHeader> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new UsageError(`kernel image '${path}' does not exist`, {
      hint: "pass the path of a bzImage or vmlinuz",
    });
  }
  if (!info.isFile())
    throw new UsageError(`kernel image '${path}' is not a file`, {
      hint: "pass the path of a bzImage or vmlinuz",
    });
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(Math.min(HEADER_BYTES, info.size));
    await handle.read(buffer, 0, buffer.length, 0);
    const header = parseKernelImageHeader(buffer);
    if (header === undefined) {
      throw new UsageError(`'${path}' is not an x86 kernel image (no bzImage boot header)`, {
        hint: "pass arch/x86/boot/bzImage or /boot/vmlinuz-*, not vmlinux or a module",
      });
    }
    return header;
  } finally {
    await handle.close();
  }
}

export async function sha256File(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}
