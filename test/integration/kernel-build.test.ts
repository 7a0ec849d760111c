import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { execa } from "execa";
import { UsageError } from "../../src/core/errors.js";
import {
  fetchDebianKernel,
  parseMetapackageDepends,
  resolveDebianKernel,
} from "../../src/machine/kernel/debian-kernel.js";
import { buildKernel, type KernelBuild } from "../../src/machine/kernel-build/build-kernel.js";
import {
  exportSource,
  identifySource,
  inspectSource,
} from "../../src/machine/kernel-build/kernel-source-tree.js";
import { hashTreeContent } from "../../src/machine/kernel-build/tree-hash.js";
import { parseMbox } from "../../src/core/kernel/mbox.js";
import { KernelBuildError } from "../../src/core/kernel/kernel-build-plan.js";
import { cacheDir } from "../../src/util/paths.js";
import { runCli } from "../helpers/cli.js";
import {
  TEST_KERNEL_DIR,
  SMALL_RUN,
  THP_NEVER_MBOX,
  exists,
  fakeKernelRepo,
  git,
  linuxSource61,
  snapshot,
  staleSeries,
} from "../helpers/kernel-trees.js";

/**
 * Kernel builds from source trees, and kernels as users have them (unpacked Debian packages).
 *
 * The tests that compile Linux (linux-source-6.1 with the default guest config; tagged
 * @kernel-build) build into the user's cache, so after the first run on a machine they find
 * their builds there. Sources and packages are fetched with apt into BB_TEST_KERNEL_DIR (default
 * ~/.cache/balloon-bench-test-kernels) once per machine.
 */

const noLog = (): Promise<void> => Promise.resolve();

describe("kernel sources as users have them @integration", function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-kbuild-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("exports --ref, and the work tree with its uncommitted changes, without writing to the user's tree", async () => {
    const repo = await fakeKernelRepo(join(dir, "export"));
    await writeFile(join(repo, "mm/huge_memory.c"), "a\nB\nc\nd\n"); // tracked change
    await writeFile(join(repo, "mm/new.c"), "new\n"); // untracked file
    const before = await snapshot(repo);

    const atRef = await inspectSource(repo, "HEAD~1");
    const refId = await identifySource(atRef, [], join(dir, "hashes"));
    expect(refId.identity).to.deep.include({ kind: "git" });
    expect(refId.workTree).to.equal(undefined);
    await exportSource(atRef, refId.workTree, [], join(dir, "out-ref"), noLog);
    expect(await readFile(join(dir, "out-ref/mm/huge_memory.c"), "utf8")).to.equal("a\nb\nc\n");

    const work = await inspectSource(repo, undefined);
    const workId = await identifySource(work, [], join(dir, "hashes"));
    expect(workId.identity.kind === "git" && workId.identity.dirtyDiffSha256).to.match(
      /^[0-9a-f]{64}$/,
    );
    await exportSource(work, workId.workTree, [], join(dir, "out-work"), noLog);
    expect(await readFile(join(dir, "out-work/mm/huge_memory.c"), "utf8")).to.equal("a\nB\nc\nd\n");
    expect(await readFile(join(dir, "out-work/mm/new.c"), "utf8")).to.equal("new\n");

    expect(await snapshot(repo)).to.equal(before);
    const { stdout: status } = await git(repo, ["status", "--porcelain"]);
    expect(status).to.equal(" M mm/huge_memory.c\n?? mm/new.c");
  });

  it("applies an mbox series to the copy only, quoted-printable mail included", async () => {
    const repo = await fakeKernelRepo(join(dir, "apply"));
    await git(repo, ["checkout", "-q", "-b", "series"]);
    await writeFile(join(repo, "mm/huge_memory.c"), "a\nB\nc = caf\u00e9\n");
    await git(repo, ["commit", "-qam", "mm: thp: one"]);
    const { stdout: mbox } = await git(repo, [
      "format-patch",
      "-1",
      "--stdout",
      "--encode-email-headers",
    ]);
    // As some lists deliver it: the body quoted-printable encoded (git mailinfo decodes it).
    const qp = mbox
      .replace(
        /^(Subject: .*)$/m,
        "$1\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable",
      )
      .replace("c = caf\u00e9", "c =3D caf=C3=A9");
    await git(repo, ["checkout", "-q", "main"]);
    const before = await snapshot(repo);
    const patches = parseMbox(qp);
    expect(patches.map((p) => p.subject)).to.deep.equal(["mm: thp: one"]);
    const source = await inspectSource(repo, undefined);
    const id = await identifySource(source, patches, join(dir, "hashes"));
    await exportSource(source, id.workTree, patches, join(dir, "out-apply"), noLog);
    expect(await readFile(join(dir, "out-apply/mm/huge_memory.c"), "utf8")).to.equal(
      "a\nB\nc = caf\u00e9\n",
    );
    expect(await snapshot(repo)).to.equal(before);
  });

  it("refuses a series that does not apply with one line naming the patch and the file", async () => {
    const repo = await fakeKernelRepo(join(dir, "am"));
    // A patch written against the old content of mm/huge_memory.c.
    await staleSeries(repo, join(dir, "series.mbox"));
    const before = await snapshot(repo);
    const cache = join(dir, "cache");
    // The work folder of an interrupted build (its process is gone) is removed, never used.
    const child = execa("true");
    await child;
    const stale = join(cache, "kernel-builds/tmp", `0123-p${child.pid ?? 0}-x`);
    await mkdir(join(stale, "out"), { recursive: true });
    const error = await buildKernel({
      tree: repo,
      patches: [join(dir, "series.mbox")],
      cacheRoot: cache,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(UsageError);
    expect((error as Error).message).to.equal(
      "patch 1/1 'mm: thp: default to never' does not apply to mm/huge_memory.c (patch does not apply)",
    );
    expect(await snapshot(repo)).to.equal(before);
    // Nothing half-built is left, and nothing looks complete.
    expect(await readdir(join(cache, "kernel-builds/tmp"))).to.deep.equal([]);
    const entries = (await readdir(join(cache, "kernel-builds"))).filter((n) =>
      /^[0-9a-f]{24}$/.test(n),
    );
    expect(entries).to.deep.equal([]);
  });

  it("a failing make step is one error line with make's own words, and its log is kept", async () => {
    const repo = await fakeKernelRepo(join(dir, "make-fails"));
    const cache = join(dir, "cache-make");
    const error = await buildKernel({ tree: repo, cacheRoot: cache }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(KernelBuildError);
    const failure = error as KernelBuildError;
    expect(failure.message).to.match(
      /^kernel make defconfig failed: make: \*\*\* No rule to make target 'defconfig'/,
    );
    expect(await readFile(failure.logPath, "utf8")).to.include("No rule to make target");
    expect(await readdir(join(cache, "kernel-builds/tmp"))).to.deep.equal([]);
  });

  it("--ref on a tree without .git is a usage error", async () => {
    const plain = join(dir, "plain");
    await mkdir(plain, { recursive: true });
    await writeFile(join(plain, "Makefile"), "");
    await writeFile(join(plain, "Kconfig"), "");
    const error = await buildKernel({
      tree: plain,
      ref: "v6.1",
      cacheRoot: join(dir, "cache"),
    }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(UsageError);
    expect((error as Error).message).to.match(/--ref v6.1 needs a git checkout/);
  });

  it("identifies an unpacked tree by content, rehashing only changed files", async () => {
    const tree = join(dir, "content");
    await mkdir(join(tree, "mm"), { recursive: true });
    await writeFile(join(tree, "Makefile"), "all:\n");
    await writeFile(join(tree, "mm/a.c"), "int a;\n");
    const first = await hashTreeContent(tree, join(dir, "hashes"));
    const again = await hashTreeContent(tree, join(dir, "hashes"));
    expect(again).to.deep.equal({ ...first, rehashed: 0 });
    await writeFile(join(tree, "mm/a.c"), "int b;\n");
    const changed = await hashTreeContent(tree, join(dir, "hashes"));
    expect(changed.sha256).to.not.equal(first.sha256);
    expect(changed.rehashed).to.equal(1);
  });
});

/** linux-source-6.1 from bookworm, unpacked once under TEST_KERNEL_DIR (apt-get download, no install). */
/** One small boot of one iteration: the kernel boots, reaches SSH and measures. */
const runOnce = (kernel: string, out: string) =>
  runCli([
    "run",
    "--kernel",
    kernel,
    "--iterations",
    "1",
    "--rounds",
    "1",
    ...SMALL_RUN,
    "--out",
    out,
  ]);

describe("kernel build of linux-source-6.1 @integration @kernel-build", function () {
  this.timeout(4 * 3600_000);
  let dir: string;
  let tree: string;
  // The tool's own cache, which the CLI's builds (kernel-validate.test.ts) use too: one cold build.
  const cache = cacheDir();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-kbuild-real-"));
    tree = await linuxSource61();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses a fragment that disables CONFIG_VIRTIO_BALLOON, naming it and the fragment", async () => {
    const fragment = join(dir, "no-balloon.config");
    await writeFile(fragment, "# CONFIG_VIRTIO_BALLOON is not set\n");
    const error = await buildKernel({ tree, fragments: [fragment], cacheRoot: cache }).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(UsageError);
    expect((error as Error).message).to.equal(
      `CONFIG_VIRTIO_BALLOON is not set in the resulting .config (your fragment ${fragment} disables it); the tool needs it: it is the device under test`,
    );
  });

  let built: KernelBuild;
  it("builds bzImage + modules with the default guest config, and finds it in the cache the second time", async () => {
    const before = await snapshot(tree);
    const lines: string[] = [];
    built = await buildKernel({ tree, cacheRoot: cache, progress: (l) => lines.push(l) });
    expect(built.release).to.match(/^6\.1\.\d+/);
    expect(await exists(built.bzImagePath)).to.equal(true);
    expect(
      await exists(join(built.modulesDir, "lib/modules", built.release, "modules.dep")),
    ).to.equal(true);
    expect(built.identity.contentSha256).to.match(/^[0-9a-f]{64}$/);
    expect(await snapshot(tree)).to.equal(before);
    const started = Date.now();
    const again = await buildKernel({ tree, cacheRoot: cache });
    expect(again.cached).to.equal(true);
    expect(again.bzImagePath).to.equal(built.bzImagePath);
    expect(Date.now() - started).to.be.below(60_000);
  });

  it("boots the built kernel with the tool", async () => {
    const out = join(dir, "run-built");
    const result = await runOnce(`mine=${built.bzImagePath},modules=${built.modulesDir}`, out);
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stderr).to.contain(`mine (${built.release})`);
  });

  it("builds the THP-never patch on top (git apply on the copy) and the guest boots with THP never", async () => {
    const series = THP_NEVER_MBOX;
    const patched = await buildKernel({ tree, patches: [series], cacheRoot: cache });
    expect(patched.key).to.not.equal(built.key);
    expect(patched.identity.patches.map((p) => p.subject)).to.deep.equal([
      "mm: thp: make never the built-in default",
    ]);
    const out = join(dir, "run-patched");
    const result = await runOnce(
      `patched=${patched.bzImagePath},modules=${patched.modulesDir}`,
      out,
    );
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(await readFile(join(out, "manifest.json"), "utf8")).to.match(/"thp":\s*"[^"]*\[never\]/);
  });
});

/** Debian 13's current amd64 kernel package through a private apt configuration (the host's apt is left alone). */
async function debian13Kernel(): Promise<{ vmlinuz: string; tree: string }> {
  const root = join(TEST_KERNEL_DIR, "trixie-apt");
  await mkdir(join(root, "lists/partial"), { recursive: true });
  await mkdir(join(root, "cache/archives/partial"), { recursive: true });
  await writeFile(join(root, "sources.list"), "deb http://deb.debian.org/debian trixie main\n");
  const apt = [
    "-o",
    `Dir::Etc::SourceList=${join(root, "sources.list")}`,
    "-o",
    "Dir::Etc::SourceParts=/nonexistent",
    "-o",
    `Dir::State::Lists=${join(root, "lists")}`,
    "-o",
    `Dir::Cache=${join(root, "cache")}`,
  ];
  if ((await readdir(join(root, "lists"))).filter((f) => f.endsWith("Packages")).length === 0) {
    await execa("apt-get", [...apt, "update", "-qq"]);
  }
  const show = await execa("apt-cache", [...apt, "show", "--no-all-versions", "linux-image-amd64"]);
  const pkg = parseMetapackageDepends("amd64", show.stdout);
  const tree = join(TEST_KERNEL_DIR, `${pkg.packageName}_${pkg.version}`);
  const release = pkg.packageName.replace(/^linux-image-/, "");
  const vmlinuz = join(tree, "boot", `vmlinuz-${release}`);
  if (!(await exists(vmlinuz))) {
    const work = `${tree}.partial`;
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    await execa("apt-get", [...apt, "download", `${pkg.packageName}=${pkg.version}`], {
      cwd: work,
    });
    const deb = (await readdir(work)).find((f) => f.endsWith(".deb"));
    if (deb === undefined) throw new Error(`apt-get download ${pkg.packageName} left no .deb`);
    await execa("dpkg-deb", ["-x", join(work, deb), join(work, "tree")]);
    await execa("mv", [join(work, "tree"), tree]);
    await rm(work, { recursive: true, force: true });
  }
  return { vmlinuz, tree };
}

describe("kernel packages as users unpack them, booted with no manual step @integration", function () {
  this.timeout(900_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-kpkg-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function boot(name: string, vmlinuz: string, modules: string): Promise<string> {
    const out = join(dir, name);
    const result = await runOnce(`${name}=${vmlinuz},modules=${modules}`, out);
    expect(result.exitCode, result.stderr).to.equal(0);
    return result.stderr;
  }

  it("Debian 13's kernel (usr/lib/modules, .ko.xz, no modules.dep) boots and its tree is left as it is", async () => {
    const { vmlinuz, tree } = await debian13Kernel();
    const modulesRoot = (await readdir(join(tree, "usr/lib/modules")))[0] ?? "";
    expect(await exists(join(tree, "usr/lib/modules", modulesRoot, "modules.dep"))).to.equal(false);
    const before = await snapshot(tree);
    const stderr = await boot("deb13", vmlinuz, tree);
    // (depmod runs on a copy in the cache: the message shows only the first time for a tree)
    expect(stderr).to.match(/negotiated [0-9,]*5/);
    expect(await snapshot(tree)).to.equal(before);
    expect(await exists(join(tree, "usr/lib/modules", modulesRoot, "modules.dep"))).to.equal(false);
  });

  it("a lib/modules tree of .ko.zst modules without modules.dep (Debian 12's cloud kernel, recompressed) boots", async () => {
    const cache = join(homedir(), ".cache", "balloon-bench");
    const fetched = await fetchDebianKernel(cache, await resolveDebianKernel("cloud-amd64"));
    const tree = join(dir, "cloud-zst");
    await cp(fetched.modulesDir ?? "", tree, { recursive: true });
    const top = join(tree, "lib/modules", fetched.release);
    // As the package ships it (no depmod output), with every module compressed as .ko.zst.
    for (const f of await readdir(top))
      if (/^modules\.(?!builtin|order)/.test(f)) await rm(join(top, f));
    await execa("sh", ["-c", 'find "$1" -name "*.ko" -exec zstd -q --rm {} +', "sh", top]);
    const before = await snapshot(tree);
    const stderr = await boot("cloudzst", join(tree, "boot", `vmlinuz-${fetched.release}`), tree);
    // (depmod runs on a copy in the cache: the message shows only the first time for a tree)
    expect(stderr).to.match(/negotiated [0-9,]*5/);
    expect(await snapshot(tree)).to.equal(before);
  });
});
