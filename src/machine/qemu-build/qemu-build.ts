import {
  chmod,
  copyFile,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { EnvironmentError } from "../../core/errors.js";
import {
  configureArgs,
  ninjaProgress,
  qemuBuildKey,
} from "../../core/qemu-build/qemu-build-recipe.js";
import { parseQemuVersion } from "../qemu/qemu-binary.js";
import { checkBuildDeps, type BuildEnv } from "./build-deps.js";
import { takeBuildLock } from "./build-lock.js";
import { openBuildLog, runLoggedStep } from "./logged-step.js";
import { checkQemuTree, hashQemuTree, TREE_EXCLUDES, type QemuTree } from "./qemu-tree.js";

export interface QemuBuildRequest {
  readonly tree: string;
  readonly cacheRoot: string;
  /** Extra configure arguments, after ours (part of the cache key). */
  readonly configureExtra: readonly string[];
  readonly jobs: number;
  readonly env: BuildEnv;
  readonly force?: boolean;
  /** Step messages, and ninja's progress as {done, total}. */
  readonly progress?: (message: string, step?: { done: number; total: number }) => void;
}

export interface QemuBuild {
  readonly binary: string;
  readonly key: string;
  readonly dir: string;
  readonly logPath: string;
  readonly version: string;
  readonly built: boolean;
  readonly seconds: number | undefined;
}

/** Builds (or finds cached) the tree's qemu-system-x86_64; the tree itself is never written to. */
export async function buildQemu(request: QemuBuildRequest): Promise<QemuBuild> {
  const progress = request.progress ?? (() => undefined);
  const tree = await checkQemuTree(request.tree);
  progress(`hashing ${tree.dir} (QEMU ${tree.version})`);
  const args = configureArgs(request.configureExtra);
  const key = qemuBuildKey(await hashQemuTree(tree.dir), args);
  const dir = join(request.cacheRoot, "qemu-builds", key);
  const cached = request.force === true ? undefined : await readCached(dir, key);
  if (cached !== undefined) return cached;
  const python = await checkBuildDeps(tree, request.env);
  await mkdir(join(request.cacheRoot, "qemu-builds"), { recursive: true });
  const lock = await takeBuildLock(`${dir}.lock`);
  try {
    return await buildInto(dir, key, tree, { ...request, progress }, args, python);
  } finally {
    await lock.release();
  }
}

async function readCached(dir: string, key: string): Promise<QemuBuild | undefined> {
  try {
    const info = JSON.parse(await readFile(join(dir, "build.json"), "utf8")) as {
      version: string;
    };
    const binary = join(dir, "bin", "qemu-system-x86_64");
    await stat(binary);
    const logPath = join(dir, "build.log");
    return { binary, key, dir, logPath, version: info.version, built: false, seconds: undefined };
  } catch {
    return undefined;
  }
}

async function buildInto(
  dir: string,
  key: string,
  tree: QemuTree,
  request: QemuBuildRequest & { progress: NonNullable<QemuBuildRequest["progress"]> },
  args: readonly string[],
  python: string,
): Promise<QemuBuild> {
  const started = Date.now();
  const src = join(dir, "src");
  const buildDir = join(dir, "build");
  const logPath = join(dir, "build.log");
  await rm(dir, { recursive: true, force: true });
  await mkdir(buildDir, { recursive: true });
  const log = openBuildLog(logPath);
  const env = request.env;
  try {
    request.progress(`copying the tree to ${src}`);
    await copyTree(tree.dir, src);
    const step = { cwd: buildDir, env, log, logPath };
    request.progress("configure");
    const configure = [join(src, "configure"), `--python=${python}`, `--prefix=${dir}`, ...args];
    await runLoggedStep({ ...step, name: "configure", argv: configure });
    request.progress(`ninja -j${request.jobs} qemu-system-x86_64 (log: ${logPath})`);
    const ninja = ["ninja", `-j${request.jobs}`, "qemu-system-x86_64"];
    await runLoggedStep({ ...step, name: "ninja", argv: ninja }, (line) => {
      const at = ninjaProgress(line);
      if (at !== undefined) request.progress("compiling", at);
    });
  } finally {
    await new Promise((done) => log.end(done));
  }
  // Out of the build tree: inside it QEMU looks for its firmware under build/qemu-bundle.
  const binary = await installBinary(buildDir, dir, env);
  const version = parseQemuVersion(binary.versionOutput).version;
  const seconds = (Date.now() - started) / 1000;
  const record = { key, tree: tree.dir, treeVersion: tree.version, args, version, seconds };
  await writeFile(join(dir, "build.json.tmp"), `${JSON.stringify(record, null, 2)}\n`);
  await rename(join(dir, "build.json.tmp"), join(dir, "build.json"));
  await rm(src, { recursive: true, force: true });
  await rm(buildDir, { recursive: true, force: true });
  return { binary: binary.path, key, dir, logPath, version, built: true, seconds };
}

async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  const entries = (await readdir(from)).filter((name) => !TREE_EXCLUDES.includes(name));
  const sources = entries.map((name) => join(from, name));
  if (sources.length > 0) await execa("cp", ["-a", "--reflink=auto", "--", ...sources, to]);
}

async function installBinary(buildDir: string, dir: string, env: BuildEnv) {
  const path = join(dir, "bin", "qemu-system-x86_64");
  await mkdir(join(dir, "bin"), { recursive: true });
  await copyFile(join(buildDir, "qemu-system-x86_64"), path);
  await chmod(path, 0o755);
  const run = await execa(path, ["--version"], { env, extendEnv: false, reject: false });
  if (run.exitCode !== 0) {
    throw new EnvironmentError(`the built ${path} does not run: ${String(run.stderr).trim()}`, {
      hint: "check the build log next to it",
    });
  }
  return { path, versionOutput: String(run.stdout) };
}
