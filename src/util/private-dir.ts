import { constants } from "node:fs";
import { chmod, lstat, mkdir, mkdtemp, open, readdir, rm } from "node:fs/promises";
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

/** Short-lived directories this tool makes: "bb-vm-PID-XXXXXX", "bb-overlay-PID-XXXXXX". */
const OWNED_DIR = /^bb-(?:vm|overlay)-(\d+)-[A-Za-z0-9]{6}$/;

/**
 * Creates a fresh 0700 directory under `base` (mkdtemp already uses 0700; checked anyway). Its
 * name carries this process's pid, so a later run can tell it was left by a process that died.
 */
export async function makePrivateTempDir(prefix: string, base = runtimeBase()): Promise<string> {
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(join(base, `${prefix}${process.pid}-`));
  await chmod(dir, PRIVATE_MODE);
  return dir;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes run directories and overlays left by balloon-bench processes that are gone (a SIGKILL
 * leaves them: no cleanup can run). Returns what it removed. Only directories this user owns
 * and whose pid no longer runs are touched.
 */
export async function sweepStaleDirs(base = runtimeBase()): Promise<string[]> {
  const removed: string[] = [];
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  for (const entry of await readdir(base, { withFileTypes: true }).catch(() => [])) {
    const pid = OWNED_DIR.exec(entry.name)?.[1];
    if (pid === undefined || !entry.isDirectory() || processAlive(Number(pid))) continue;
    const dir = join(base, entry.name);
    const info = await lstat(dir).catch(() => undefined);
    if (info === undefined || (uid !== undefined && info.uid !== uid)) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/**
 * Creates `dir` (and parents) and makes it 0700; refuses a symbolic link (it is never followed,
 * so its target is never chmod'ed) and a directory another user owns.
 */
export async function ensurePrivateDir(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_MODE });
  const info = await lstat(dir);
  if (info.isSymbolicLink()) {
    throw new EnvironmentError(
      `${dir} is a symbolic link; balloon-bench keeps its state only in a real directory`,
      {
        hint: `remove the link (rm ${dir}) and run again, or set XDG_RUNTIME_DIR to a private directory`,
      },
    );
  }
  if (!info.isDirectory()) {
    throw new EnvironmentError(`${dir} exists and is not a directory`, {
      hint: `remove it (rm ${dir})`,
    });
  }
  if (typeof process.getuid === "function" && info.uid !== process.getuid()) {
    throw new EnvironmentError(`directory ${dir} belongs to another user`, {
      hint: "choose a directory you own",
    });
  }
  // Changed through a descriptor opened without following links, never by path.
  if ((info.mode & 0o777) !== PRIVATE_MODE) {
    const handle = await open(
      dir,
      constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW,
    );
    try {
      await handle.chmod(PRIVATE_MODE);
    } finally {
      await handle.close();
    }
  }
  return dir;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
