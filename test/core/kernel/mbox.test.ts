import { readFile } from "node:fs/promises";
import { expect } from "chai";
import {
  cleanSubject,
  decodeEncodedWords,
  describeApplyFailure,
  parseApplyFailure,
  parseMbox,
  splitMbox,
} from "../../../src/core/kernel/mbox.js";
import { sha256Hex } from "../../../src/core/kernel/build-key.js";

const fixture = (name: string) =>
  readFile(new URL(`../../fixtures/kernel/series/${name}`, import.meta.url), "utf8");

describe("mbox series (b4 am / git format-patch)", () => {
  it("splits a b4 mbox into its patches, with git am's commit titles and touched files", async () => {
    const text = await fixture("b4-two-patches.mbx");
    const patches = parseMbox(text);
    expect(patches.map((p) => [p.index, p.subject, p.files])).to.deep.equal([
      [
        1,
        "virtio_balloon: report initial pages as already reported",
        ["drivers/virtio/virtio_balloon.c", "include/uapi/linux/virtio_balloon.h"],
      ],
      [2, "mm: page_reporting: café flush", ["mm/page_reporting.c"]],
    ]);
    expect(patches[0]?.rawSubject).to.equal(
      "[PATCH v2 1/2] virtio_balloon: report initial pages as already reported",
    );
    // A body line starting with "From " (not after a blank line + date) stays in its message.
    expect(patches[0]?.text).to.include("From the cover letter");
    expect(patches[0]?.sha256).to.equal(sha256Hex(patches[0]?.text ?? ""));
    expect(patches[0]?.sha256).to.not.equal(patches[1]?.sha256);
  });

  it("skips a cover letter and strips nested [PATCH]/Re:/[RFC] prefixes", async () => {
    const text = await fixture("with-cover.mbox");
    expect(splitMbox(text)).to.have.length(2);
    const patches = parseMbox(text);
    expect(patches.map((p) => [p.subject, p.files])).to.deep.equal([
      ["mm: new file", ["mm/new.c"]],
    ]);
  });

  it("numbers patches across several mbox files", async () => {
    const first = parseMbox(await fixture("b4-two-patches.mbx"));
    const second = parseMbox(await fixture("with-cover.mbox"), first.length + 1);
    expect(second[0]?.index).to.equal(3);
  });

  it("a single patch without a From_ line is one message", () => {
    const patches = parseMbox(
      "Subject: [PATCH] x: y\n\n---\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n",
    );
    expect(patches.map((p) => p.subject)).to.deep.equal(["x: y"]);
  });

  it("decodes RFC 2047 words and cleans subjects", () => {
    expect(decodeEncodedWords("=?UTF-8?B?Y2Fmw6k=?= au lait")).to.equal("café au lait");
    expect(cleanSubject("  [PATCH RESEND v3 04/10]   mm:  x  ")).to.equal("mm: x");
  });
});

describe("git am / git apply failures", () => {
  const patches = parseMbox(
    [
      "From 1 Mon Sep 17 00:00:00 2001\nSubject: [PATCH 1/2] a: one\n\n---\ndiff --git a/a.c b/a.c\n--- a/a.c\n+++ b/a.c\n@@ -1 +1 @@\n-x\n+y\n",
      "From 2 Mon Sep 17 00:00:00 2001\nSubject: [PATCH 2/2] mm: thp: change b\n\n---\ndiff --git a/mm/huge_memory.c b/mm/huge_memory.c\n--- a/mm/huge_memory.c\n+++ b/mm/huge_memory.c\n@@ -1 +1 @@\n-b\n+B\n",
    ].join("\n"),
  );

  it("names the patch and the file from git am's output (as git 2.39 prints it)", () => {
    const output = [
      "Applying: mm: thp: change b",
      "error: patch failed: mm/huge_memory.c:1",
      "error: mm/huge_memory.c: patch does not apply",
      "Patch failed at 0001 mm: thp: change b",
      "hint: Use 'git am --show-current-patch=diff' to see the failed patch",
    ].join("\n");
    const failure = parseApplyFailure(output, patches);
    expect(failure.patch?.index).to.equal(2);
    expect(failure.file).to.equal("mm/huge_memory.c");
    expect(describeApplyFailure(failure, patches.length)).to.equal(
      "patch 2/2 'mm: thp: change b' does not apply to mm/huge_memory.c (patch does not apply)",
    );
  });

  it("reads git apply's output (no Applying: line) with the patch being applied", () => {
    const output = [
      "Checking patch mm/huge_memory.c...",
      "error: while searching for:",
      "b",
      "",
      "error: patch failed: mm/huge_memory.c:1",
      "error: mm/huge_memory.c: patch does not apply",
    ].join("\n");
    const failure = parseApplyFailure(output, patches, patches[1]);
    expect(describeApplyFailure(failure, 2)).to.equal(
      "patch 2/2 'mm: thp: change b' does not apply to mm/huge_memory.c (patch does not apply)",
    );
    const missing = parseApplyFailure(
      "Checking patch a.c...\nerror: a.c: No such file or directory\n",
      patches,
      patches[0],
    );
    expect(describeApplyFailure(missing, 2)).to.equal(
      "patch 1/2 'a: one' does not apply to a.c (No such file or directory)",
    );
  });
});

describe("the THP-never fixture patch", () => {
  it("is one patch to mm/huge_memory.c that removes one line", async () => {
    const [patch, ...rest] = parseMbox(await fixture("thp-never-6.1.mbox"));
    expect(rest).to.deep.equal([]);
    expect(patch?.subject).to.equal("mm: thp: make never the built-in default");
    expect(patch?.files).to.deep.equal(["mm/huge_memory.c"]);
    expect(patch?.text.split("\n").filter((l) => /^[-+][^-+]/.test(l))).to.deep.equal([
      "-\t(1<<TRANSPARENT_HUGEPAGE_FLAG)|",
    ]);
  });
});
