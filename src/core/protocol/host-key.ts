import { createHash } from "node:crypto";
import { UsageError } from "../errors.js";

/** A pinned SSH host public key, from an OpenSSH `.pub` line ("ssh-ed25519 AAAA... comment"). */
export interface PinnedHostKey {
  readonly type: string;
  /** The raw key blob (the base64 field decoded): what ssh2 hands the host verifier. */
  readonly blob: Buffer;
}

export function parseOpenSshPublicKey(line: string): PinnedHostKey {
  const [type, base64] = line.trim().split(/\s+/);
  if (type === undefined || base64 === undefined || !/^[A-Za-z0-9+/]+=*$/.test(base64)) {
    throw new UsageError(`not an OpenSSH public key: '${line.trim().slice(0, 40)}'`, {
      hint: "rebuild the image with `balloon-bench image build --force`",
    });
  }
  return { type, blob: Buffer.from(base64, "base64") };
}

/** The fingerprint `ssh-keygen -lf` prints: SHA256: + unpadded base64 of the blob's sha256. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}
