import { expect } from "chai";
import {
  buildKey,
  compilerIdentity,
  filesInputKey,
  dirtyStateSha256,
  inputKey,
  treeContentSha256,
  type ConfigInputs,
  type SourceIdentity,
} from "../../../src/core/kernel/build-key.js";

const commit = "0123456789abcdef0123456789abcdef01234567";
const git: SourceIdentity = { kind: "git", commit, patches: [] };
const defaults: ConfigInputs = {
  base: { kind: "default", recipe: "make defconfig && ..." },
  fragments: [],
};
const gcc = "gcc (Debian 12.2.0-14+deb12u1) 12.2.0 / GNU ld (GNU Binutils for Debian) 2.40";

describe("kernel build cache keys", () => {
  it("the build key is stable for the same inputs and changes with the files, the .config and the compiler", () => {
    const files = "a".repeat(64);
    const base = buildKey(files, "c".repeat(64), gcc);
    expect(buildKey(`${files}`, "c".repeat(64), gcc)).to.equal(base);
    const variants = [
      buildKey("b".repeat(64), "c".repeat(64), gcc),
      buildKey(files, "f".repeat(64), gcc),
      buildKey(files, "c".repeat(64), "gcc (Debian 14.2.0-19) 14.2.0 / GNU ld 2.44"),
    ];
    expect(new Set([base, ...variants]).size).to.equal(variants.length + 1);
    expect(base).to.match(/^[0-9a-f]{24}$/);
  });

  it("the input key changes with each part of the source identity, but not with a patch's subject", () => {
    const k = (s: SourceIdentity) => inputKey(s, defaults, gcc);
    const base = k(git);
    expect(k({ ...git })).to.equal(base);
    const variants = [
      k({ ...git, commit: commit.replace("0", "1") }),
      k({ ...git, dirtyDiffSha256: "d".repeat(64) }),
      k({ ...git, patches: [{ subject: "mm: x", sha256: "e".repeat(64) }] }),
      k({ kind: "tree", contentSha256: "a".repeat(64), patches: [] }),
    ];
    expect(new Set([base, ...variants]).size).to.equal(variants.length + 1);
    const one = k({ ...git, patches: [{ subject: "one", sha256: "e".repeat(64) }] });
    const two = k({ ...git, patches: [{ subject: "two", sha256: "e".repeat(64) }] });
    expect(one).to.equal(two);
  });

  it("the files' input key names the files, not the source: it changes with the files and the config inputs only", () => {
    const files = "a".repeat(64);
    const k = filesInputKey(files, defaults, gcc);
    expect(filesInputKey(files, { ...defaults }, gcc)).to.equal(k);
    const variants = [
      filesInputKey("b".repeat(64), defaults, gcc),
      filesInputKey(files, { ...defaults, fragments: ["1".repeat(64)] }, gcc),
      filesInputKey(files, defaults, "gcc (Debian 14.2.0-19) 14.2.0 / GNU ld 2.44"),
      inputKey({ kind: "tree", contentSha256: files, patches: [] }, defaults, gcc),
    ];
    expect(new Set([k, ...variants]).size).to.equal(variants.length + 1);
  });

  it("the input key depends on the config inputs, in order", () => {
    const k = (c: ConfigInputs) => inputKey(git, c, gcc);
    expect(k(defaults)).to.equal(k({ ...defaults }));
    const withFragments = { ...defaults, fragments: ["1".repeat(64), "2".repeat(64)] };
    const swapped = { ...defaults, fragments: ["2".repeat(64), "1".repeat(64)] };
    expect(
      new Set([
        k(defaults),
        k(withFragments),
        k(swapped),
        k({ base: { kind: "config", sha256: "9".repeat(64) }, fragments: [] }),
      ]).size,
    ).to.equal(4);
  });

  it("the compiler identity is the first line of gcc and ld --version", () => {
    expect(
      compilerIdentity(
        "gcc (Debian 12.2.0-14+deb12u1) 12.2.0\nCopyright (C) 2022 Free Software Foundation, Inc.\n",
        "GNU ld (GNU Binutils for Debian) 2.40\nCopyright (C) 2023\n",
      ),
    ).to.equal(gcc);
  });

  it("a clean work tree has no dirty hash; tracked and untracked changes each give one", () => {
    expect(dirtyStateSha256("", [])).to.equal(undefined);
    const diff = dirtyStateSha256("diff --git a/x b/x\n", []);
    const untracked = dirtyStateSha256("", [{ path: "new.c", sha256: "1".repeat(64) }]);
    expect(diff).to.match(/^[0-9a-f]{64}$/);
    expect(untracked)
      .to.match(/^[0-9a-f]{64}$/)
      .and.not.equal(diff);
    expect(dirtyStateSha256(new TextEncoder().encode("diff --git a/x b/x\n"), [])).to.equal(diff);
  });

  it("the tree content hash ignores walk order but not paths, types or content", () => {
    const a = { path: "Makefile", type: "f" as const, sha256: "1".repeat(64) };
    const b = { path: "scripts/config", type: "x" as const, sha256: "2".repeat(64) };
    expect(treeContentSha256([a, b])).to.equal(treeContentSha256([b, a]));
    expect(treeContentSha256([a, { ...b, type: "f" }])).to.not.equal(treeContentSha256([a, b]));
    expect(treeContentSha256([a, { ...b, path: "scripts/config2" }])).to.not.equal(
      treeContentSha256([a, b]),
    );
  });
});
