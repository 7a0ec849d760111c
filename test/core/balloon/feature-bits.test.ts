import { expect } from "chai";
import {
  BALLOON_FEATURE_BITS,
  assertFeatureDependencies,
  checkFeatureDependencies,
  parseFeatureList,
  resolveFeatureName,
  specName,
} from "../../../src/core/balloon/feature-bits.js";
import {
  DEFAULT_PROPERTY_MAP,
  parsePropertyMapOverrides,
} from "../../../src/core/balloon/property-map.js";
import { balloonDeviceForFeatures } from "../../../src/core/balloon/balloon-device.js";
import { UsageError } from "../../../src/core/errors.js";

describe("balloon feature bits", () => {
  it("registers bits 0-7 with their spec names", () => {
    expect(BALLOON_FEATURE_BITS.map((b) => b.bit)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(specName(6)).to.equal("VIRTIO_BALLOON_F_DEVICE_INIT_REPORTED");
    expect(specName(7)).to.equal("VIRTIO_BALLOON_F_DEVICE_INIT_DEFLATED");
  });

  it("resolves bit 7 by both of its names, with or without prefix, in any case", () => {
    expect(resolveFeatureName("DEVICE_INIT_DEFLATED")).to.equal(7);
    expect(resolveFeatureName("VIRTIO_BALLOON_F_DEVICE_INIT_ON_INFLATE")).to.equal(7);
    expect(resolveFeatureName("device-init-on-inflate")).to.equal(7);
    expect(resolveFeatureName("7")).to.equal(7);
  });

  it("resolves Linux's REPORTING and QEMU property names", () => {
    expect(resolveFeatureName("VIRTIO_BALLOON_F_REPORTING")).to.equal(5);
    expect(resolveFeatureName("free-page-reporting", DEFAULT_PROPERTY_MAP)).to.equal(5);
    expect(resolveFeatureName("x-device-init-reported", DEFAULT_PROPERTY_MAP)).to.equal(6);
  });

  it("rejects unknown names and bits with a usage error that says what is accepted", () => {
    expect(() => resolveFeatureName("turbo")).to.throw(
      UsageError,
      "unknown balloon feature 'turbo'",
    );
    expect(() => resolveFeatureName("8")).to.throw(UsageError, "unknown balloon feature bit 8");
  });

  it("parses feature lists into sorted unique bits", () => {
    expect(parseFeatureList("device-init-reported, 5,REPORTING")).to.deep.equal([5, 6]);
  });

  it("checks that bit 6 requires bit 5", () => {
    expect(checkFeatureDependencies([5, 6])).to.deep.equal([]);
    expect(checkFeatureDependencies([6, 7]).map((p) => [p.bit, p.missing])).to.deep.equal([[6, 5]]);
    expect(() => assertFeatureDependencies([6])).to.throw(
      UsageError,
      "bit 6 (VIRTIO_BALLOON_F_DEVICE_INIT_REPORTED) requires bit 5",
    );
  });
});

describe("property map", () => {
  it("has the default bit → property map from the design", () => {
    expect([...DEFAULT_PROPERTY_MAP]).to.deep.equal([
      [2, "deflate-on-oom"],
      [3, "free-page-hint"],
      [4, "page-poison"],
      [5, "free-page-reporting"],
      [6, "x-device-init-reported"],
      [7, "device-init-on-inflate"],
    ]);
  });

  it("applies overrides and removals", () => {
    const map = parsePropertyMapOverrides(["6=x-init-reported", "7="]);
    expect(map.get(6)).to.equal("x-init-reported");
    expect(map.has(7)).to.equal(false);
    expect(map.get(5)).to.equal("free-page-reporting");
  });

  it("rejects malformed entries with the expected form", () => {
    expect(() => parsePropertyMapOverrides(["6:foo"])).to.throw(
      UsageError,
      "malformed property map entry '6:foo'",
    );
    expect(() => parsePropertyMapOverrides(["9=foo"])).to.throw(UsageError, "names bit 9");
    expect(() => parsePropertyMapOverrides(["6=foo,bar=on"])).to.throw(
      UsageError,
      "invalid property name",
    );
  });
});

describe("balloonDeviceForFeatures", () => {
  const qemu72 = new Set([
    "deflate-on-oom",
    "free-page-hint",
    "free-page-reporting",
    "page-poison",
  ]);

  it("switches every available mapped property explicitly on or off", () => {
    const device = balloonDeviceForFeatures({
      bits: [5],
      propertyMap: DEFAULT_PROPERTY_MAP,
      availableProperties: qemu72,
    });
    expect(device).to.deep.equal({
      id: "balloon0",
      properties: [
        ["deflate-on-oom", "off"],
        ["free-page-hint", "off"],
        ["page-poison", "off"],
        ["free-page-reporting", "on"],
      ],
      iothreadId: undefined,
    });
  });

  it("adds the iothread QEMU requires for free-page-hint", () => {
    const device = balloonDeviceForFeatures({
      bits: [3],
      propertyMap: DEFAULT_PROPERTY_MAP,
      availableProperties: qemu72,
    });
    expect(device.iothreadId).to.equal("balloon-iothread0");
  });

  it("refuses a bit whose property this QEMU lacks, naming the property", () => {
    expect(() =>
      balloonDeviceForFeatures({
        bits: [5, 6],
        propertyMap: DEFAULT_PROPERTY_MAP,
        availableProperties: qemu72,
      }),
    ).to.throw(UsageError, "needs virtio-balloon-pci property 'x-device-init-reported'");
  });

  it("refuses bit 6 without bit 5 before looking at properties", () => {
    expect(() =>
      balloonDeviceForFeatures({
        bits: [6],
        propertyMap: DEFAULT_PROPERTY_MAP,
        availableProperties: new Set(["x-device-init-reported"]),
      }),
    ).to.throw(UsageError, "requires bit 5");
  });
});
