import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../core/errors.js";
import { ensurePrivateDir } from "../util/private-dir.js";

/** The VM name used when a command is given none. */
export const DEFAULT_VM_NAME = "default";

/** Words the `balloon` subcommand reads as actions, so they cannot also be VM names. */
const RESERVED_NAMES = new Set(["set", "status", "stats"]);

/**
 * Where live VMs keep their state: $XDG_RUNTIME_DIR/balloon-bench/vms, else a private directory
 * /tmp/balloon-bench-$UID/vms. Short on purpose: the QMP socket path inside must stay under the
 * 107-byte limit of Unix socket paths.
 */
export function liveVmsDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env["XDG_RUNTIME_DIR"];
  if (xdg !== undefined && xdg !== "") return join(xdg, "balloon-bench", "vms");
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  return join(tmpdir(), `balloon-bench-${uid}`, "vms");
}

/** Creates the state root (and its parent) as 0700 directories this user owns. */
export async function ensureLiveVmsDir(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = liveVmsDir(env);
  await ensurePrivateDir(join(dir, ".."));
  return ensurePrivateDir(dir);
}

/** A VM name: used as a directory name, so letters, digits, '.', '_' and '-' only. */
export function parseVmName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/.test(name) || RESERVED_NAMES.has(name)) {
    throw new UsageError(`'${name}' is not a usable VM name`, {
      hint: "use 1-32 letters, digits, '.', '_' or '-', starting with a letter or digit (not set, status or stats)",
    });
  }
  return name;
}

export function vmStateDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(liveVmsDir(env), parseVmName(name));
}
