import { chmod, lstat, mkdir, mkdtemp, rm, stat, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { EnvironmentError } from "../../src/core/errors.js";
import { ensurePrivateDir } from "../../src/util/private-dir.js";

describe("ensurePrivateDir: the state root is a real, private directory", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-private-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates it 0700, and makes an existing one 0700", async () => {
    await ensurePrivateDir(join(dir, "a", "b"));
    expect((await stat(join(dir, "a", "b"))).mode & 0o777).to.equal(0o700);
    await mkdir(join(dir, "open"), { mode: 0o755 });
    await chmod(join(dir, "open"), 0o755);
    await ensurePrivateDir(join(dir, "open"));
    expect((await stat(join(dir, "open"))).mode & 0o777).to.equal(0o700);
  });

  it("refuses a symbolic link and never chmods its target (issue 13, case 4)", async () => {
    const target = join(dir, "someone-elses");
    await mkdir(target);
    await chmod(target, 0o755);
    await symlink(target, join(dir, "state"));
    const error = await ensurePrivateDir(join(dir, "state")).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(EnvironmentError);
    expect((error as Error).message).to.equal(
      `${join(dir, "state")} is a symbolic link; balloon-bench keeps its state only in a real directory`,
    );
    expect((await stat(target)).mode & 0o777).to.equal(0o755);
    expect((await lstat(join(dir, "state"))).isSymbolicLink()).to.equal(true);
  });

  it("refuses a symlink to a directory even when the link points at a private one", async () => {
    const target = join(dir, "private");
    await mkdir(target, { mode: 0o700 });
    await symlink(target, join(dir, "link"));
    const error = await ensurePrivateDir(join(dir, "link")).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(EnvironmentError);
  });
});
