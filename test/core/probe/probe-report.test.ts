import { readFile } from "node:fs/promises";
import { expect } from "chai";
import {
  decodeSysfsFeatureString,
  decodeVirtioStatus,
} from "../../../src/core/balloon/device-features.js";
import { DEFAULT_PROPERTY_MAP } from "../../../src/core/balloon/property-map.js";
import { parseDeviceHelp } from "../../../src/machine/qemu/qemu-binary.js";
import { assembleProbeReport } from "../../../src/core/probe/probe-report.js";

const fixture = async (name: string): Promise<string> =>
  readFile(new URL(`../../fixtures/qmp/${name}`, import.meta.url), "utf8");

describe("device feature decoding (recorded QEMU 7.2 replies)", () => {
  it("reads offered bits from x-query-virtio-status host-features", async () => {
    const record = JSON.parse(await fixture("balloon-paused-all-properties.json")) as Record<
      string,
      unknown
    >;
    const { offered, negotiated } = decodeVirtioStatus(record["x-query-virtio-status"]);
    expect(offered.balloonBits).to.deep.equal([1, 2, 3, 4, 5]);
    expect(negotiated.balloonBits).to.deep.equal([]);
  });

  it("counts bits QEMU cannot name from unknown-dev-features", () => {
    const status = {
      "host-features": { "dev-features": [], "unknown-dev-features": 0b1100_0000 + 2 ** 40 },
    };
    expect(decodeVirtioStatus(status).offered.balloonBits).to.deep.equal([6, 7]);
  });

  it("decodes the guest sysfs feature string (character i = bit i)", () => {
    expect(decodeSysfsFeatureString("0100011000000000000000000000000010\n")).to.deep.equal([
      1, 5, 6,
    ]);
  });

  it("parses -device virtio-balloon-pci,help into property names", async () => {
    const properties = parseDeviceHelp(await fixture("virtio-balloon-pci-help-7.2.txt"));
    expect(properties).to.include.members([
      "deflate-on-oom",
      "free-page-hint",
      "free-page-reporting",
      "page-poison",
      "guest-stats-polling-interval",
    ]);
    expect(properties).not.to.include("x-device-init-reported");
    expect(properties).to.have.length(43);
  });
});

describe("assembleProbeReport", () => {
  it("reports bits 2-5 offerable and 6-7 not, naming the missing property, on Debian's QEMU 7.2", async () => {
    const available = new Set(parseDeviceHelp(await fixture("virtio-balloon-pci-help-7.2.txt")));
    const report = assembleProbeReport({
      qemu: { path: "/usr/bin/qemu-system-x86_64", version: "7.2.22" },
      availableProperties: available,
      propertyMap: DEFAULT_PROPERTY_MAP,
      offeredBits: new Set([1, 2, 3, 4, 5]),
    });
    expect(report.bits.map((b) => [b.bit, b.property, b.hasProperty, b.offered])).to.deep.equal([
      [0, null, false, false],
      [1, null, false, true],
      [2, "deflate-on-oom", true, true],
      [3, "free-page-hint", true, true],
      [4, "page-poison", true, true],
      [5, "free-page-reporting", true, true],
      [6, "x-device-init-reported", false, false],
      [7, "device-init-on-inflate", false, false],
    ]);
    expect(report.bits[7]?.names).to.deep.equal([
      "VIRTIO_BALLOON_F_DEVICE_INIT_DEFLATED",
      "VIRTIO_BALLOON_F_DEVICE_INIT_ON_INFLATE",
    ]);
    expect(report.bits[6]?.reason).to.contain("has no 'x-device-init-reported' property");
  });

  it("explains a property that exists but did not make the device offer the bit", () => {
    const report = assembleProbeReport({
      qemu: { path: "q", version: "9.9.0" },
      availableProperties: new Set(["x-device-init-reported", "free-page-reporting"]),
      propertyMap: DEFAULT_PROPERTY_MAP,
      offeredBits: new Set([1, 5]),
    });
    expect(report.bits[6]?.reason).to.equal(
      "QEMU has 'x-device-init-reported', but a device with x-device-init-reported=on did not offer bit 6",
    );
  });
});
