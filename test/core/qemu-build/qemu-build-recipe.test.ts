import { expect } from "chai";
import {
  configureArgs,
  ninjaProgress,
  qemuBuildKey,
  requiredMesonVersion,
  versionAtLeast,
} from "../../../src/core/qemu-build/qemu-build-recipe.js";

describe("qemu build recipe", () => {
  it("builds x86_64-softmmu with TCG, KVM and slirp, the user's flags last", () => {
    const args = configureArgs(["--enable-debug"]);
    expect(args).to.include.members([
      "--target-list=x86_64-softmmu",
      "--enable-tcg",
      "--enable-kvm",
      "--enable-slirp",
      "--disable-install-blobs",
    ]);
    expect(args.at(-1)).to.equal("--enable-debug");
  });

  it("keys a build by the tree's hash and the configure arguments", () => {
    const key = qemuBuildKey("a".repeat(64), configureArgs([]));
    expect(key).to.match(/^[0-9a-f]{16}$/);
    expect(qemuBuildKey("a".repeat(64), configureArgs([]))).to.equal(key);
    expect(qemuBuildKey("b".repeat(64), configureArgs([]))).to.not.equal(key);
    expect(qemuBuildKey("a".repeat(64), configureArgs(["--enable-debug"]))).to.not.equal(key);
  });

  it("reads meson_version from QEMU's meson.build and compares versions", () => {
    expect(requiredMesonVersion("project('qemu', ['c'], meson_version: '>=1.5.0',")).to.equal(
      "1.5.0",
    );
    expect(requiredMesonVersion("project('other')")).to.equal(undefined);
    expect(versionAtLeast("1.7.0", "1.5.0")).to.equal(true);
    expect(versionAtLeast("1.0.1", "1.5.0")).to.equal(false);
    expect(versionAtLeast("1.5", "1.5.0")).to.equal(true);
    expect(versionAtLeast("1.10.0", "1.9.2")).to.equal(true);
  });

  it("reads ninja's progress lines", () => {
    expect(ninjaProgress("[12/1718] Compiling C object foo.o")).to.deep.equal({
      done: 12,
      total: 1718,
    });
    expect(ninjaProgress("ninja: Entering directory")).to.equal(undefined);
  });
});
