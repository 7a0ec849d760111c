import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { execa } from "execa";
import { EnvironmentError } from "../../../src/core/errors.js";
import { checkBuildDeps } from "../../../src/machine/qemu-build/build-deps.js";
import { checkQemuTree, hashQemuTree } from "../../../src/machine/qemu-build/qemu-tree.js";
import { findOnPath } from "../../../src/machine/qemu/qemu-binary.js";
import { runCli } from "../../helpers/cli.js";

/**
 * A stand-in QEMU tree: a real `configure` script that writes a real build.ninja whose
 * qemu-system-x86_64 prints a QEMU version; real ninja builds it. The real QEMU build is in
 * test/integration/device-init-qemu.test.ts.
 */
async function fakeQemuTree(dir: string, options: { mesonWheel: boolean }): Promise<void> {
  await mkdir(join(dir, "python", "wheels"), { recursive: true });
  if (options.mesonWheel)
    await writeFile(join(dir, "python/wheels/meson-1.5.0-py3-none-any.whl"), "");
  await writeFile(join(dir, "VERSION"), "10.0.99\n");
  await writeFile(join(dir, "meson.build"), "project('qemu', ['c'], meson_version: '>=1.5.0')\n");
  await writeFile(
    join(dir, "fake-qemu.sh"),
    '#!/bin/sh\necho "QEMU emulator version 10.0.99 (fake)"\n',
  );
  await chmod(join(dir, "fake-qemu.sh"), 0o755);
  const configure = [
    "#!/bin/sh",
    'echo "fake configure $*"',
    'case " $* " in *" --fail-configure "*) echo "ERROR: fake dependency missing"; exit 1;; esac',
    'src=$(cd "$(dirname "$0")" && pwd)',
    'printf \'rule make\\n  command = cp %s/fake-qemu.sh $out\\nbuild qemu-system-x86_64: make %s/fake-qemu.sh\\n\' "$src" "$src" > build.ninja',
  ].join("\n");
  await writeFile(join(dir, "configure"), `${configure}\n`);
  await chmod(join(dir, "configure"), 0o755);
}

describe("balloon-bench qemu build (a stand-in tree, real configure and ninja)", function () {
  this.timeout(60_000);
  let dir: string;
  let tree: string;
  let env: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-qemu-build-"));
    tree = join(dir, "qemu");
    await fakeQemuTree(tree, { mesonWheel: true });
    env = { XDG_CACHE_HOME: join(dir, "cache") };
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("builds into the cache, prints the binary, and reuses it for the same tree", async () => {
    const first = await runCli(["qemu", "build", "--tree", tree, "--jobs", "1"], env);
    expect(first.exitCode, first.stderr).to.equal(0);
    const binary = first.stdout.trim();
    expect(binary).to.match(/\/balloon-bench\/qemu-builds\/[0-9a-f]{16}\/bin\/qemu-system-x86_64$/);
    expect(first.stderr).to.match(
      /^qemu build: built QEMU 10\.0\.99 in \d+ s \(log: .*build\.log\)$/m,
    );
    expect((await execa(binary, ["--version"])).stdout).to.contain("version 10.0.99");
    expect(await readdir(tree)).to.not.include("build.ninja");
    const second = await runCli(["qemu", "build", "--tree", tree], env);
    expect(second.stdout.trim()).to.equal(binary);
    expect(second.stderr).to.match(/^qemu build: up to date: QEMU 10\.0\.99, key [0-9a-f]{16}/m);
  });

  it("hashes the tree's content: a changed file is a new build", async () => {
    const before = await hashQemuTree(tree);
    await writeFile(join(tree, "extra.c"), "int x;\n");
    expect(await hashQemuTree(tree)).to.not.equal(before);
    await rm(join(tree, "extra.c"));
    expect(await hashQemuTree(tree)).to.equal(before);
  });

  it("a failed configure is one line naming the step, then the build log's tail", async () => {
    const result = await runCli(
      ["qemu", "build", "--tree", tree, "--configure", "--fail-configure"],
      env,
    );
    expect(result.exitCode).to.equal(1);
    const lines = result.stderr.trim().split("\n");
    const error = lines.find((l) => l.startsWith("balloon-bench: error:"));
    expect(error).to.match(
      /^balloon-bench: error: QEMU build failed: configure ended with exit code 1 \(fix: see the whole log in .*\/build\.log\)$/,
    );
    expect(result.stderr).to.contain("--- build log (last lines) ---");
    expect(result.stderr).to.contain("ERROR: fake dependency missing");
  });

  it("refuses a directory that is not a QEMU tree: one line, exit 2", async () => {
    const result = await runCli(["qemu", "build", "--tree", dir], env);
    expect(result.exitCode).to.equal(2);
    expect(result.stderr.trim()).to.match(
      /^balloon-bench: error: '.*' is not a QEMU source tree \(no configure, VERSION and meson\.build with project\('qemu'\)\) \(fix: pass --tree with a QEMU git checkout or an unpacked source package \(apt-get source qemu\)\)$/,
    );
    const missing = await runCli(["qemu", "build", "--tree", join(dir, "nope")], env);
    expect([missing.exitCode, missing.stderr]).to.satisfy(
      ([code, text]: [number, string]) => code === 2 && /--tree '.*nope' does not exist/.test(text),
    );
  });

  it("names meson when the tree bundles none and none new enough is importable", async () => {
    const bare = join(dir, "bare");
    await fakeQemuTree(bare, { mesonWheel: false });
    const result = await runCli(["qemu", "build", "--tree", bare], { ...env, PYTHONPATH: "" });
    expect(result.exitCode).to.equal(1);
    expect(result.stderr.trim().split("\n").at(-1)).to.match(
      /^balloon-bench: error: building QEMU needs meson >= 1\.5\.0 importable by \S+python3 \(found: [^)]*; the tree bundles no meson wheel\), which is missing \(fix: .*PYTHONPATH/,
    );
  });

  it("names a missing command with its Debian package", async () => {
    const bin = join(dir, "bin-without-ninja");
    await mkdir(bin, { recursive: true });
    for (const command of ["cc", "pkg-config", "python3"]) {
      const found = await findOnPath(command);
      if (found !== undefined) await symlink(found, join(bin, command));
    }
    const qemuTree = await checkQemuTree(tree);
    let caught: unknown;
    await checkBuildDeps(qemuTree, { PATH: bin }).catch((error: unknown) => (caught = error));
    expect(caught).to.be.instanceOf(EnvironmentError);
    expect((caught as Error).message).to.equal("building QEMU needs 'ninja', which is missing");
    expect((caught as EnvironmentError).hint).to.equal("apt-get install ninja-build");
  });
});
