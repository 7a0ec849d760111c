import { expect } from "chai";
import { balloonDeviceForFeatures } from "../../../src/core/balloon/balloon-device.js";
import { DEFAULT_PROPERTY_MAP } from "../../../src/core/balloon/property-map.js";
import { UsageError } from "../../../src/core/errors.js";

describe("balloonDeviceForFeatures with a config that sets a mapped property itself", () => {
  // The device-init fixture QEMU (test/fixtures/device-init/qemu) has both properties.
  const fixtureQemu = new Set([
    "deflate-on-oom",
    "free-page-hint",
    "free-page-reporting",
    "page-poison",
    "x-device-init-reported",
    "device-init-on-inflate",
  ]);

  it("passes x-device-init-reported=auto once, instead of switching bit 6 off", () => {
    const device = balloonDeviceForFeatures({
      bits: [5],
      propertyMap: DEFAULT_PROPERTY_MAP,
      availableProperties: fixtureQemu,
      extraProperties: [["x-device-init-reported", "auto"]],
    });
    expect(device.properties).to.deep.equal([
      ["deflate-on-oom", "off"],
      ["free-page-hint", "off"],
      ["page-poison", "off"],
      ["free-page-reporting", "on"],
      ["device-init-on-inflate", "off"],
      ["x-device-init-reported", "auto"],
    ]);
  });

  it("lets a config set a requested bit's property to on or auto", () => {
    const device = balloonDeviceForFeatures({
      bits: [5, 6],
      propertyMap: DEFAULT_PROPERTY_MAP,
      availableProperties: fixtureQemu,
      extraProperties: [["x-device-init-reported", "auto"]],
    });
    expect(device.properties.filter(([name]) => name === "x-device-init-reported")).to.deep.equal([
      ["x-device-init-reported", "auto"],
    ]);
  });

  it("refuses a config that requests bit 6 and switches its property off", () => {
    expect(() =>
      balloonDeviceForFeatures({
        bits: [5, 6],
        propertyMap: DEFAULT_PROPERTY_MAP,
        availableProperties: fixtureQemu,
        extraProperties: [["x-device-init-reported", "off"]],
      }),
    ).to.throw(
      UsageError,
      "bit 6 (VIRTIO_BALLOON_F_DEVICE_INIT_REPORTED) is requested, but the config sets x-device-init-reported=off",
    );
  });
});
