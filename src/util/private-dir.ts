import { chmod, mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EnvironmentError } from "../core/errors.js";

const PRIVATE_MODE = 0o700;

/**
 * Where short-lived private run directories (QMP sockets, pidfiles) go. Unix socket paths are
 * limited to 107 bytes, so this must stay short: $XDG_RUNTIME_DIR, else the system temp dir.
 */
export function runtimeBase(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env["XDG_RUNTIME_DIR"];
  return xdg !== undefined && xdg !== "" ? xdg : tmpdir();
}

/** Creates a fresh 0700 directory under `base` (mkdtemp already uses 0700; checked anyway). */
export async function makePrivateTempDir(prefix: string, base = runtimeBase()): Promise<string> {
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(join(base, prefix));
  await chmod(dir, PRIVATE_MODE);
  return dir;
}

/** Creates `dir` (and parents) and makes it 0700; refuses one that another user owns. */
export async function ensurePrivateDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_MODE });
  const info = await stat(dir);
  if (typeof process.getuid === "function" && info.uid !== process.getuid()) {
    throw new EnvironmentError(`directory ${dir} belongs to another user`, {
      hint: "choose a directory you own",
    });
  }
  if ((info.mode & 0o777) !== PRIVATE_MODE) await chmod(dir, PRIVATE_MODE);
  return dir;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
