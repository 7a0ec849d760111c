import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { UsageError } from "../../src/core/errors.js";
import { checkUsableDir } from "../../src/util/usable-dir.js";

async function problemWith(path: string, minFreeMiB = 1): Promise<string> {
  const error = await checkUsableDir(path, "--out", minFreeMiB).then(
    () => "no problem",
    (e: unknown) => (e instanceof UsageError ? `${e.message} (fix: ${e.hint ?? ""})` : String(e)),
  );
  return error;
}

describe("checkUsableDir: --out is checked before anything is created", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-usable-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("accepts a new directory under a writable one", async () => {
    expect(await problemWith(join(dir, "new", "deeper"))).to.equal("no problem");
  });

  it("refuses /proc at once (a recursive mkdir there never returns)", async () => {
    expect(await problemWith("/proc/x")).to.match(
      /^--out \/proc\/x is on the proc pseudo-filesystem, which cannot hold files \(fix: choose a directory on a real filesystem/,
    );
  });

  it("refuses /sys", async () => {
    expect(await problemWith("/sys/kernel/x")).to.match(
      /^--out \/sys\/kernel\/x is on the sysfs pseudo-filesystem/,
    );
  });

  it("refuses a filesystem with less free space than a run needs, saying how much", async () => {
    expect(await problemWith(join(dir, "x"), 2 ** 40)).to.match(
      /^--out .*: only \d+ MiB free on its filesystem, and a run needs at least 1099511627776 MiB/,
    );
  });

  it("looks at the deepest existing part of the path (a file in the way is not its concern)", async () => {
    await writeFile(join(dir, "file"), "x");
    expect(await problemWith(join(dir, "file"))).to.equal("no problem");
  });
});
