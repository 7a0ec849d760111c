import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { NO_PROGRESS, advanceMakeProgress } from "../../../src/core/kernel/make-progress.js";
import { buildCacheOf } from "../../../src/machine/kernel-build/build-cache.js";
import { BuildWork } from "../../../src/machine/kernel-build/build-work.js";

/** A real make whose target prints what Kbuild's quiet output prints. */
const MAKEFILE = [
  "build:",
  "\t@echo '  CC      mm/huge_memory.o'",
  "\t@echo 'a warning' >&2",
  "\t@echo '  CC [M]  drivers/virtio/virtio_balloon.o'",
  "\t@echo '  LD [M]  drivers/virtio/virtio_balloon.ko'",
  "",
].join("\n");

describe("BuildWork", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "bb-build-work-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("make's stdout reaches the live progress line by line, and the log keeps everything", async () => {
    const work = await BuildWork.open(buildCacheOf(root), "k");
    await mkdir(work.src, { recursive: true });
    await writeFile(join(work.src, "Makefile"), MAKEFILE);
    let progress = NO_PROGRESS;
    await work.make("build", ["build"], (line) => (progress = advanceMakeProgress(progress, line)));
    expect(progress).to.deep.equal({ compiled: 2, latest: "drivers/virtio/virtio_balloon.o" });
    const log = await readFile(work.logPath, "utf8");
    expect(log).to.include("  CC      mm/huge_memory.o").and.include("a warning");
    expect(log).to.include("LD [M]  drivers/virtio/virtio_balloon.ko");
    await work.discard();
  });
});
