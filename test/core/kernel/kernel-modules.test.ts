import { readFile } from "node:fs/promises";
import { expect } from "chai";
import {
  ROOT_AND_NETWORK_MODULES,
  initramfsModules,
  parseModuleIndex,
  renderModulesLoad,
} from "../../../src/core/kernel/kernel-modules.js";

async function index(flavour: string) {
  const read = (name: string) =>
    readFile(new URL(`../../fixtures/kernel/${flavour}/${name}`, import.meta.url), "utf8");
  return parseModuleIndex(await read("modules.dep.excerpt"), await read("modules.builtin"));
}

describe("initramfs module closure (Debian 6.1.0-56 depmod data)", () => {
  it("loads virtio, virtio-blk, virtio-net and ext4 with dependencies first for the amd64 flavour", async () => {
    const modules = initramfsModules(ROOT_AND_NETWORK_MODULES, await index("amd64"));
    expect(renderModulesLoad(modules)).to.equal(
      [
        "virtio_ring.ko",
        "virtio.ko",
        "virtio_pci_modern_dev.ko",
        "virtio_pci_legacy_dev.ko",
        "virtio_pci.ko",
        "virtio_blk.ko",
        "failover.ko",
        "net_failover.ko",
        "virtio_net.ko",
        "crc32c_generic.ko",
        "?crc32c-intel.ko",
        "jbd2.ko",
        "mbcache.ko",
        "crc16.ko",
        "ext4.ko",
        "",
      ].join("\n"),
    );
    expect(modules[0]?.path).to.equal("kernel/drivers/virtio/virtio_ring.ko");
  });

  it("skips what the cloud flavour builds in (ext4, jbd2, mbcache, crc16, crc32c)", async () => {
    const modules = initramfsModules(ROOT_AND_NETWORK_MODULES, await index("cloud-amd64"));
    expect(modules.map((m) => m.path.split("/").at(-1))).to.deep.equal([
      "virtio_ring.ko",
      "virtio.ko",
      "virtio_pci_modern_dev.ko",
      "virtio_pci_legacy_dev.ko",
      "virtio_pci.ko",
      "virtio_blk.ko",
      "failover.ko",
      "net_failover.ko",
      "virtio_net.ko",
    ]);
  });

  it("needs nothing when everything is built in", () => {
    const builtin = parseModuleIndex(
      "",
      "kernel/drivers/virtio/virtio_pci.ko\nkernel/drivers/block/virtio_blk.ko\nkernel/drivers/net/virtio_net.ko\nkernel/fs/ext4/ext4.ko\n",
    );
    expect(initramfsModules(ROOT_AND_NETWORK_MODULES, builtin)).to.deep.equal([]);
  });

  it("names a module that is neither built in nor available", () => {
    expect(() => initramfsModules(["virtio_blk"], parseModuleIndex("", ""))).to.throw(
      "module virtio_blk is neither built in nor in modules.dep",
    );
  });
});
