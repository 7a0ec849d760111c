import { expect } from "chai";
import { runCellSchema } from "../../../src/core/results-format/manifest.js";

const CELL = {
  id: "patched__bits-5__w",
  status: "complete",
  kernelName: "patched",
  configName: "bits-5",
  kernel: {
    name: "patched",
    path: "/cache/kernel-builds/k/bzImage",
    sha256: "ab",
    release: "6.1.192",
    cmdline: [],
    bootMethod: "pvh",
    initramfsModules: [],
    modulesImage: true,
  },
  config: { name: "bits-5", requestedBits: [5] },
  workload: "w",
  workloadSpec: { sizeMiB: 32, pages: "default", balloon: { kind: "none" } },
};

describe("manifest: kernels built from a source tree", () => {
  it("records commit, patches (subjects and hashes), config hash and compiler, optionally", () => {
    const build = {
      tree: "/src/linux",
      ref: "v6.1",
      commit: "b4d6b0f7a702a2b46f9fdf40db54a9a89330bb04",
      patches: [{ subject: "mm: thp: make never the built-in default", sha256: "83" }],
      configSha256: "4a",
      compiler: "gcc 12.2.0 / GNU ld 2.40",
      key: "66140096ff4cc4990ea206e5",
    };
    const parsed = runCellSchema.parse({ ...CELL, kernel: { ...CELL.kernel, build } });
    expect(parsed.kernel.build).to.deep.equal(build);
    // Kernels given as images keep the record they always had.
    expect(runCellSchema.parse(CELL).kernel.build).to.equal(undefined);
    expect(() =>
      runCellSchema.parse({ ...CELL, kernel: { ...CELL.kernel, build: { tree: "/t" } } }),
    ).to.throw();
  });
});
