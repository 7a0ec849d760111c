import { copyFile, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { EnvironmentError } from "../../core/errors.js";
import {
  buildKey,
  filesInputKey,
  inputKey,
  sha256Hex,
  type SourceIdentity,
} from "../../core/kernel/build-key.js";
import {
  NO_PROGRESS,
  advanceMakeProgress,
  type MakeProgress,
} from "../../core/kernel/make-progress.js";
import {
  DEFAULT_CONFIG_TARGETS,
  checkRequiredOptions,
  defaultConfigArgs,
  describeDefaultRecipe,
  mergeConfigFragment,
  requiredOptionsError,
} from "../../core/kernel/kernel-config.js";
import {
  BUILD_TARGETS,
  formatDuration,
  makeArgv,
  modulesInstallArgv,
  type BuildStage,
  type KernelBuildIdentity,
  type KernelBuildRequest,
  type MakeOptions,
} from "../../core/kernel/kernel-build-plan.js";
import {
  RECORD_NAME,
  buildCacheOf,
  findByInputs,
  readEntry,
  rememberInputs,
  removeStaleWork,
  resultOf,
  type BuildCache,
  type BuildRecord,
  type KernelBuild,
} from "./build-cache.js";
import {
  checkBuildDependencies,
  checkBuildInputs,
  detectCompiler,
  hasCommand,
  type CheckedBuildInputs,
} from "./build-inputs.js";
import { BuildWork } from "./build-work.js";
import { exportSource, identifySource, type WorkTreeState } from "./kernel-source-tree.js";
import { hashTreeContent } from "./tree-hash.js";
import { pathExists } from "../../util/path-exists.js";

export type { KernelBuild } from "./build-cache.js";
export type { KernelBuildRequest } from "../../core/kernel/kernel-build-plan.js";

export interface BuildKernelOptions extends KernelBuildRequest {
  /** make -j; default: the cores available. */
  readonly jobs?: number | undefined;
  /** Compile through ccache; default: when `ccache` is installed. */
  readonly ccache?: boolean | undefined;
  /** The tool's cache; builds go to CACHE/kernel-builds/KEY. */
  readonly cacheRoot: string;
  /** One line per stage. */
  readonly progress?: ((line: string) => void) | undefined;
  /** The compile's progress as Kbuild prints it (for a live line on a terminal). */
  readonly onCompile?: ((progress: MakeProgress) => void) | undefined;
}

/** What one build is made of, once the inputs are read and the source identified. */
interface BuildContext {
  readonly options: BuildKernelOptions;
  readonly cache: BuildCache;
  readonly checked: CheckedBuildInputs;
  readonly sourceId: SourceIdentity;
  readonly compiler: string;
  readonly make: MakeOptions;
  readonly inputKey: string;
  readonly progress: (line: string) => void;
}

/** What the manifest records for the requester: its own naming of the source, the files built. */
function identityOf(
  source: SourceIdentity,
  compiler: string,
  built: { readonly configSha256: string; readonly builtSourceSha256?: string | undefined },
): KernelBuildIdentity {
  const files = { builtSourceSha256: built.builtSourceSha256, configSha256: built.configSha256 };
  return source.kind === "git"
    ? {
        commit: source.commit,
        patches: [...source.patches],
        ...(source.dirtyDiffSha256 === undefined
          ? {}
          : { dirtyDiffSha256: source.dirtyDiffSha256 }),
        ...files,
        compiler,
      }
    : { patches: [...source.patches], contentSha256: source.contentSha256, ...files, compiler };
}

function stage(ctx: BuildContext, n: number, name: BuildStage, detail: string): void {
  ctx.progress(`kernel build: [${n}/4] ${name}: ${detail}`);
}

/**
 * Stage 1: the source copy with the series applied (the user's tree is only read), and the hash
 * of the files it holds.
 */
async function prepareSource(
  ctx: BuildContext,
  work: BuildWork,
  workTree: WorkTreeState | undefined,
): Promise<string> {
  const { sourceId, checked } = ctx;
  const what =
    sourceId.kind === "git"
      ? `git ${sourceId.commit.slice(0, 12)}${sourceId.dirtyDiffSha256 === undefined ? "" : " + uncommitted changes"}`
      : `unpacked tree ${checked.source.tree}`;
  const n = checked.patches.length;
  stage(ctx, 1, "prepare source", `${what}${n === 0 ? "" : ` + ${n} patch${n === 1 ? "" : "es"}`}`);
  await exportSource(checked.source, workTree, checked.patches, work.src, (l) => work.log(l));
  const configured =
    (await pathExists(join(work.src, ".config"))) ||
    (await pathExists(join(work.src, "include/config")));
  // The user configured or built in that tree: the copy starts from a clean state.
  if (sourceId.kind === "tree" && configured) await work.make("mrproper", ["mrproper"]);
  // Without .git the release is the Makefile's version for a commit and for an unpacked copy
  // of it alike, so the same files make the same build (the commit is in the manifest).
  await rm(join(work.src, ".git"), { recursive: true, force: true });
  return (await hashTreeContent(work.src, undefined)).sha256;
}

/** Stage 2: the .config (default guest recipe or --config, then fragments), checked. */
async function configure(ctx: BuildContext, work: BuildWork): Promise<string> {
  const { options, checked, make } = ctx;
  const dotConfig = join(work.src, ".config");
  stage(
    ctx,
    2,
    "configure",
    options.config === undefined ? "default guest config" : `from ${options.config}`,
  );
  if (options.config !== undefined) {
    await writeFile(dotConfig, checked.configInputs[0]?.text ?? "");
  } else {
    for (const target of DEFAULT_CONFIG_TARGETS)
      await work.make(`make ${target}`, makeArgv([target], make));
    await work.log(`$ scripts/config ${defaultConfigArgs().join(" ")}`);
    const set = await execa(
      join(work.src, "scripts/config"),
      ["--file", dotConfig, ...defaultConfigArgs()],
      { reject: false, all: true },
    );
    if (set.exitCode !== 0) throw new EnvironmentError(`scripts/config failed: ${String(set.all)}`);
  }
  for (const fragment of checked.configInputs.filter((i) => i.kind === "fragment")) {
    await work.log(`merging fragment ${fragment.label}`);
    await writeFile(
      dotConfig,
      mergeConfigFragment(await readFile(dotConfig, "utf8"), fragment.text),
    );
  }
  await work.make("make olddefconfig", makeArgv(["olddefconfig"], make));
  const finalConfig = await readFile(dotConfig, "utf8");
  const problem = requiredOptionsError(checkRequiredOptions(finalConfig, checked.configInputs));
  if (problem !== undefined) throw problem;
  return finalConfig;
}

/** Stages 3 and 4: make bzImage modules, then modules_install into the output. */
async function compile(ctx: BuildContext, work: BuildWork): Promise<string> {
  const { make } = ctx;
  const detail = `make -j${make.jobs}${make.ccache ? " (ccache)" : ""} ${BUILD_TARGETS.join(" ")}`;
  stage(ctx, 3, "build", `${detail} (log: ${work.logPath})`);
  const started = Date.now();
  const onCompile = ctx.options.onCompile;
  let compiled = NO_PROGRESS;
  await work.make(
    "build",
    makeArgv(BUILD_TARGETS, make),
    onCompile === undefined
      ? undefined
      : (line) => {
          const next = advanceMakeProgress(compiled, line);
          if (next !== compiled) onCompile((compiled = next));
        },
  );
  await work.log(`build took ${formatDuration(Date.now() - started)}`);
  const release = await work.makeValue(makeArgv(["kernelrelease"], make));
  if (release === "") throw new EnvironmentError("make kernelrelease printed nothing");
  stage(ctx, 4, "modules_install", `${release} into the cache`);
  await work.make("modules_install", modulesInstallArgv(join(work.out, "modules"), make));
  // modules_install links build/ and source/ to the build tree, which is about to go away.
  for (const link of ["build", "source"])
    await rm(join(work.out, "modules/lib/modules", release, link), { force: true });
  await copyFile(join(work.src, "arch/x86/boot/bzImage"), join(work.out, "bzImage"));
  await copyFile(join(work.src, ".config"), join(work.out, "config"));
  await copyFile(join(work.src, "System.map"), join(work.out, "System.map")).catch(() => {});
  return release;
}

/** Moves the output to CACHE/kernel-builds/KEY in one rename: never half there. */
async function publish(ctx: BuildContext, work: BuildWork, record: BuildRecord): Promise<void> {
  await work.closeLog();
  await copyFile(work.logPath, join(work.out, "build.log"));
  await writeFile(join(work.out, RECORD_NAME), `${JSON.stringify(record, null, 2)}\n`);
  try {
    await rename(work.out, join(ctx.cache.root, record.key));
  } catch (error) {
    // Another build of the same key finished first: use it.
    if ((await readEntry(ctx.cache, record.key)) === undefined) throw error;
  }
  await rememberInputs(ctx.cache, ctx.inputKey, record.key);
}

async function buildAndPublish(
  ctx: BuildContext,
  work: BuildWork,
  workTree: WorkTreeState | undefined,
): Promise<KernelBuild> {
  const started = Date.now();
  const builtSourceSha256 = await prepareSource(ctx, work, workTree);
  const filesKey = filesInputKey(builtSourceSha256, ctx.checked.configIds, ctx.compiler);
  const same = await findByInputs(ctx.cache, filesKey);
  if (same !== undefined) {
    // The same files and config inputs under another name: no need to configure either.
    await rememberInputs(ctx.cache, ctx.inputKey, same.key);
    ctx.progress(`kernel build: cached ${same.release} (${same.key}, same files)`);
    return resultOf(ctx.cache, same, true, identityOf(ctx.sourceId, ctx.compiler, same.identity));
  }
  const configSha256 = sha256Hex(await configure(ctx, work));
  const key = buildKey(builtSourceSha256, configSha256, ctx.compiler);
  const identity = identityOf(ctx.sourceId, ctx.compiler, { configSha256, builtSourceSha256 });
  const existing = await readEntry(ctx.cache, key);
  if (existing !== undefined) {
    // Other inputs (another naming of the same files, or another config that ends the same).
    await rememberInputs(ctx.cache, ctx.inputKey, key);
    await rememberInputs(ctx.cache, filesKey, key);
    ctx.progress(`kernel build: cached ${existing.release} (${key}, same files and .config)`);
    return resultOf(ctx.cache, existing, true, identity);
  }
  const release = await compile(ctx, work);
  const { options } = ctx;
  const record: BuildRecord = {
    format: 1,
    key,
    release,
    identity: { ...identity, patches: [...identity.patches] },
    tree: ctx.checked.source.tree,
    ...(options.ref === undefined ? {} : { ref: options.ref }),
    config: options.config === undefined ? describeDefaultRecipe() : `--config ${options.config}`,
    jobs: ctx.make.jobs,
    ccache: ctx.make.ccache,
    buildSeconds: Math.round((Date.now() - started) / 1000),
    builtAt: new Date().toISOString(),
  };
  await work.log(`total ${formatDuration(Date.now() - started)}`);
  await publish(ctx, work, record);
  await rememberInputs(ctx.cache, filesKey, key);
  const done = (await readEntry(ctx.cache, key)) ?? record;
  ctx.progress(`kernel build: built ${release} in ${formatDuration(Date.now() - started)}`);
  return resultOf(ctx.cache, done, false, identity);
}

/**
 * Builds bzImage + modules from a kernel source tree with a guest-suited configuration, or finds
 * the same build in the cache. The user's tree is only read: the build runs on a copy (a shared
 * git clone, or a copy of an unpacked tree) in CACHE/kernel-builds/tmp, and the result moves to
 * CACHE/kernel-builds/KEY in one rename, so an interrupted build never looks complete.
 */
export async function buildKernel(options: BuildKernelOptions): Promise<KernelBuild> {
  const progress = options.progress ?? (() => undefined);
  const cache = buildCacheOf(options.cacheRoot);
  // Inputs first: every usage error before anything slow.
  const checked = await checkBuildInputs(options);
  await mkdir(cache.tmp, { recursive: true });
  await mkdir(cache.inputs, { recursive: true });
  await removeStaleWork(cache);
  await checkBuildDependencies();
  const make: MakeOptions = {
    jobs: options.jobs ?? availableParallelism(),
    ccache: options.ccache ?? (await hasCommand("ccache")),
  };
  const compiler = await detectCompiler();
  const { identity: sourceId, workTree } = await identifySource(
    checked.source,
    checked.patches,
    cache.treeHashes,
  );
  const iKey = inputKey(sourceId, checked.configIds, compiler);
  const known = await findByInputs(cache, iKey);
  if (known !== undefined) {
    progress(`kernel build: cached ${known.release} (${known.key})`);
    return resultOf(cache, known, true, identityOf(sourceId, compiler, known.identity));
  }
  const ctx: BuildContext = {
    options,
    cache,
    checked,
    sourceId,
    compiler,
    make,
    inputKey: iKey,
    progress,
  };
  const work = await BuildWork.open(cache, iKey);
  try {
    return await buildAndPublish(ctx, work, workTree);
  } finally {
    await work.discard();
  }
}
