import { expect } from "chai";
import {
  depmodArgv,
  depmodCommand,
  layoutUnder,
  modulesLayoutCandidates,
} from "../../../src/core/kernel/modules-layout.js";
import {
  initramfsFileName,
  moduleDecompressor,
  renderModulesLoad,
} from "../../../src/core/kernel/kernel-modules.js";

const R = "6.12.117+deb13-amd64";

describe("modules tree layouts and depmod", () => {
  it("probes lib/modules, usr/lib/modules and a lib/modules folder itself", () => {
    const c = modulesLayoutCandidates("/data/k/", R);
    expect(c.map((l) => [l.kind, l.releaseDir, l.depmodBase])).to.deep.equal([
      ["lib", `/data/k/lib/modules/${R}`, "/data/k"],
      ["usr-lib", `/data/k/usr/lib/modules/${R}`, "/data/k/usr"],
      ["modules", `/data/k/${R}`, undefined],
    ]);
  });

  it("merged /usr: depmod's base is the folder holding lib/modules (ROOT/usr), not usr/lib/modules", () => {
    const usr = modulesLayoutCandidates("/data/deb13", R)[1];
    expect(usr === undefined ? undefined : depmodCommand(usr, R)).to.equal(
      `depmod -b /data/deb13/usr ${R}`,
    );
  });

  it("finds the base of a lib/modules folder and of a release folder given directly", () => {
    const modules = modulesLayoutCandidates("/x/lib/modules", R)[2];
    expect(modules?.depmodBase).to.equal("/x");
    const release = modulesLayoutCandidates(`/x/usr/lib/modules/${R}`, R).at(-1);
    expect([release?.kind, release?.releaseDir, release?.depmodBase]).to.deep.equal([
      "release",
      `/x/usr/lib/modules/${R}`,
      "/x/usr",
    ]);
  });

  it("a copy keeps the layout, with the matching base", () => {
    const [lib, usr] = modulesLayoutCandidates("/u", R);
    if (lib === undefined || usr === undefined) throw new Error("no candidates");
    expect(layoutUnder("/cache/m", usr, R)).to.deep.equal({
      kind: "usr-lib",
      releaseDir: `/cache/m/usr/lib/modules/${R}`,
      relativeReleaseDir: `usr/lib/modules/${R}`,
      depmodBase: "/cache/m/usr",
    });
    expect(layoutUnder("/cache/m", lib, R).depmodBase).to.equal("/cache/m");
    expect(depmodArgv("/cache/m", R)).to.deep.equal(["-b", "/cache/m", R]);
    expect(depmodArgv("/", R)).to.deep.equal([R]);
  });
});

describe("compressed modules in the initramfs", () => {
  it("decompresses .ko.xz, .ko.zst and .ko.gz, and names them .ko", () => {
    expect(moduleDecompressor("kernel/drivers/virtio/virtio.ko.xz")?.[0]).to.equal("xz");
    expect(moduleDecompressor("kernel/fs/ext4/ext4.ko.zst")?.[0]).to.equal("zstd");
    expect(moduleDecompressor("kernel/fs/ext4/ext4.ko.gz")?.[0]).to.equal("gzip");
    expect(moduleDecompressor("kernel/fs/ext4/ext4.ko")).to.equal(undefined);
    expect(initramfsFileName("kernel/arch/x86/crypto/crc32c-intel.ko.zst")).to.equal(
      "crc32c-intel.ko",
    );
    expect(
      renderModulesLoad([
        { path: "kernel/drivers/virtio/virtio.ko.xz", optional: false },
        { path: "kernel/arch/x86/crypto/crc32c-intel.ko.zst", optional: true },
      ]),
    ).to.equal("virtio.ko\n?crc32c-intel.ko\n");
  });
});
