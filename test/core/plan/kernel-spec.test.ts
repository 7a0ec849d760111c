import { readFile } from "node:fs/promises";
import { expect } from "chai";
import { assertUniqueKernelNames, parseKernelSpec } from "../../../src/core/plan/kernel-spec.js";
import { parseKernelImageHeader } from "../../../src/machine/kernel/kernel-image.js";
import { UsageError } from "../../../src/core/errors.js";

describe("--kernel NAME=PATH[,modules=DIR][,cmdline=...]", () => {
  it("parses a bare kernel", () => {
    expect(parseKernelSpec("patched=/src/linux/arch/x86/boot/bzImage")).to.deep.equal({
      name: "patched",
      kernelPath: "/src/linux/arch/x86/boot/bzImage",
      modulesDir: undefined,
      cmdline: [],
    });
  });

  it("parses modules and a command line that contains commas and '='", () => {
    expect(
      parseKernelSpec("base=/k/vmlinuz,modules=/k/mods,cmdline=init_on_alloc=1 isolcpus=1,2 quiet"),
    ).to.deep.equal({
      name: "base",
      kernelPath: "/k/vmlinuz",
      modulesDir: "/k/mods",
      cmdline: ["init_on_alloc=1", "isolcpus=1,2", "quiet"],
    });
  });

  it("rejects malformed values with the expected form", () => {
    expect(() => parseKernelSpec("/boot/vmlinuz")).to.throw(
      UsageError,
      "malformed --kernel '/boot/vmlinuz'",
    );
    expect(() => parseKernelSpec("a b=/k")).to.throw(UsageError, "is not usable as a label");
    expect(() => parseKernelSpec("k=/k,module=/m")).to.throw(
      UsageError,
      "unknown --kernel option 'module=/m'",
    );
    expect(() => parseKernelSpec("k=")).to.throw(UsageError, "names no kernel image");
  });

  it("parses NAME=build:tree=DIR with ref, repeated patches and fragments, config and cmdline", () => {
    expect(
      parseKernelSpec(
        "p=build:tree=/src/linux,ref=v6.1,patches=/s/a.mbox,patches=/s/b.mbox,config=/c/.config,fragment=/f/x.config,cmdline=quiet a=1,2",
      ),
    ).to.deep.equal({
      name: "p",
      kernelPath: "build:/src/linux",
      modulesDir: undefined,
      cmdline: ["quiet", "a=1,2"],
      build: {
        tree: "/src/linux",
        ref: "v6.1",
        patches: ["/s/a.mbox", "/s/b.mbox"],
        config: "/c/.config",
        fragments: ["/f/x.config"],
      },
    });
  });

  it("refuses a build without a tree, with modules=, or with an unknown or repeated option", () => {
    expect(() => parseKernelSpec("p=build:ref=v6.1")).to.throw(UsageError, "names no source tree");
    expect(() => parseKernelSpec("p=build:tree=/l,modules=/m")).to.throw(
      UsageError,
      "a kernel built from a tree brings its modules",
    );
    expect(() => parseKernelSpec("p=build:tree=/l,ref=a,ref=b")).to.throw(
      UsageError,
      "unknown or repeated --kernel build option 'ref=b'",
    );
    expect(() => parseKernelSpec("p=build:tree=/l,patch=/x")).to.throw(
      UsageError,
      "unknown or repeated --kernel build option 'patch=/x'",
    );
    expect(() => parseKernelSpec("p=build:tree=")).to.throw(UsageError, "has no value");
  });

  it("refuses duplicate names", () => {
    expect(() =>
      assertUniqueKernelNames([parseKernelSpec("a=/x"), parseKernelSpec("a=/y")]),
    ).to.throw(UsageError, "given twice");
  });
});

describe("bzImage boot header", () => {
  it("reads the release from a real Debian vmlinuz header", async () => {
    const bytes = await readFile(
      new URL("../../fixtures/kernel/vmlinuz-6.1.0-56-amd64.head", import.meta.url),
    );
    expect(parseKernelImageHeader(bytes)).to.deep.equal({
      versionString:
        "6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)",
      release: "6.1.0-56-amd64",
    });
  });

  it("says a non-kernel file is not one", () => {
    expect(parseKernelImageHeader(Buffer.from("#!/bin/sh\necho hi\n".padEnd(0x300, " ")))).to.equal(
      undefined,
    );
  });
});
