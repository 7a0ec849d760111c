import { readFile } from "node:fs/promises";
import { expect } from "chai";
import {
  parseEvents,
  parsePositiveInt,
  validateRunOptions,
  type RunOptions,
} from "../../src/bench/run-options.js";
import { parseMetapackageDepends } from "../../src/kernel/debian-kernel.js";
import { locatePayload, payloadCompression } from "../../src/kernel/vmlinux.js";
import { defaultRecipe, recipeHash, mmdebstrapArgs } from "../../src/image/image-recipe.js";
import { UsageError } from "../../src/errors.js";

const base: RunOptions = {
  kernels: [],
  sizeMiB: 256,
  iterations: 10,
  warmups: 0,
  huge: false,
  accel: "auto",
  out: "/tmp/x",
  events: ["task-clock"],
  features: [5],
  propertyMap: new Map(),
  memoryMiB: 2048,
  vcpus: 2,
  bootTimeoutMs: 60_000,
  settleMs: 3000,
};

describe("run inputs, checked before anything boots", () => {
  it("refuses a size that does not fit in guest memory, naming both fixes", () => {
    expect(() => validateRunOptions({ ...base, sizeMiB: 4096 })).to.throw(
      UsageError,
      "--size 4096 MiB does not fit in a 2048 MiB guest (384 MiB stay reserved for the kernel and userspace)",
    );
  });

  it("refuses --huge with a size that is not whole 2 MiB pages", () => {
    expect(() => validateRunOptions({ ...base, huge: true, sizeMiB: 255 })).to.throw(
      UsageError,
      "multiple of 2 MiB",
    );
    expect(() => validateRunOptions({ ...base, huge: true, sizeMiB: 256 })).not.to.throw();
  });

  it("parses counts and events strictly", () => {
    expect(parsePositiveInt("10", "--iterations")).to.equal(10);
    expect(() => parsePositiveInt("0", "--iterations")).to.throw(
      UsageError,
      "--iterations must be a whole number >= 1, got '0'",
    );
    expect(() => parsePositiveInt("3.5", "--size")).to.throw(UsageError);
    expect(parseEvents("task-clock, instructions:u")).to.deep.equal([
      "task-clock",
      "instructions:u",
    ]);
    expect(() => parseEvents("task-clock;rm -rf /")).to.throw(
      UsageError,
      "is not a perf event name",
    );
  });
});

describe("Debian stock kernel lookup", () => {
  it("finds the image package behind linux-image-amd64 (recorded apt-cache show)", async () => {
    const text = await readFile(
      new URL("../fixtures/kernel/apt-cache-show-linux-image-amd64.txt", import.meta.url),
      "utf8",
    );
    expect(parseMetapackageDepends("amd64", text)).to.deep.equal({
      flavour: "amd64",
      packageName: "linux-image-6.1.0-56-amd64",
      version: "6.1.192-2",
    });
  });
});

describe("PVH payload location", () => {
  it("finds the xz payload of a real Debian bzImage from its header", async () => {
    const head = await readFile(
      new URL("../fixtures/kernel/vmlinuz-6.1.0-56-amd64.head", import.meta.url),
    );
    // The fixture is only the header: locate the payload against the full size the header implies.
    const setup = ((head[0x1f1] ?? 0) + 1) * 512;
    const offset = setup + head.readUInt32LE(0x248);
    const padded = Buffer.concat([
      head,
      Buffer.alloc(offset + head.readUInt32LE(0x24c) - head.length),
    ]);
    expect(locatePayload(padded)).to.deep.equal({ offset, length: head.readUInt32LE(0x24c) });
    expect(payloadCompression(padded.subarray(offset))).to.equal("xz");
  });
});

describe("image recipe", () => {
  const files = {
    "guest-init.sh": "#!/bin/sh\n",
    sshd_config: "Port 22\n",
    fstab: "",
    "dpkg-excludes": "",
  };

  it("hashes the same recipe to the same key and any changed file to another", () => {
    const a = recipeHash(defaultRecipe(files));
    expect(recipeHash(defaultRecipe({ ...files }))).to.equal(a);
    expect(recipeHash(defaultRecipe({ ...files, sshd_config: "Port 2222\n" }))).not.to.equal(a);
  });

  it("builds the mmdebstrap argv without a shell", () => {
    expect(
      mmdebstrapArgs(defaultRecipe(files), "/repo/images/dpkg-excludes", "/cache/rootfs"),
    ).to.deep.equal([
      "--variant=essential",
      "--include=openssh-server,linux-perf,kmod,procps,iproute2,mount",
      "--dpkgopt=/repo/images/dpkg-excludes",
      "--quiet",
      "bookworm",
      "/cache/rootfs",
    ]);
  });
});
