import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { runCli } from "../helpers/cli.js";

describe("balloon-bench probe @integration", function () {
  this.timeout(60_000);

  it("prints a table: bits 2-5 offerable, 6-7 not, naming the missing property", async () => {
    const result = await runCli(["probe"]);
    expect(result.exitCode).to.equal(0);
    const rows = result.stdout.split("\n").filter((l) => /^\d /.test(l));
    const cells = rows.map((l) => l.split(/\s{2,}/).slice(0, 5));
    expect(cells).to.deep.equal([
      ["0", "MUST_TELL_HOST", "-", "-", "no"],
      ["1", "STATS_VQ", "-", "-", "yes"],
      ["2", "DEFLATE_ON_OOM", "deflate-on-oom", "yes", "yes"],
      ["3", "FREE_PAGE_HINT", "free-page-hint", "yes", "yes"],
      ["4", "PAGE_POISON", "page-poison", "yes", "yes"],
      ["5", "PAGE_REPORTING", "free-page-reporting", "yes", "yes"],
      ["6", "DEVICE_INIT_REPORTED", "x-device-init-reported", "no", "no"],
      ["7", "DEVICE_INIT_DEFLATED", "device-init-on-inflate", "no", "no"],
    ]);
    expect(rows[6]).to.contain("has no 'x-device-init-reported' property");
  });

  it("prints the documented JSON", async () => {
    const result = await runCli(["probe", "--json"]);
    expect(result.exitCode).to.equal(0);
    const report = JSON.parse(result.stdout) as {
      qemu: { path: string; version: string };
      bits: {
        bit: number;
        names: string[];
        property: string | null;
        hasProperty: boolean;
        offered: boolean;
        reason: string;
      }[];
    };
    expect(report.qemu.path).to.match(/qemu-system-x86_64$/);
    expect(report.qemu.version).to.match(/^\d+\.\d+\.\d+$/);
    expect(report.bits.filter((b) => b.offered).map((b) => b.bit)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(report.bits[6]).to.deep.include({
      bit: 6,
      property: "x-device-init-reported",
      hasProperty: false,
      offered: false,
    });
    expect(report.bits[7]?.names).to.deep.equal([
      "VIRTIO_BALLOON_F_DEVICE_INIT_DEFLATED",
      "VIRTIO_BALLOON_F_DEVICE_INIT_ON_INFLATE",
    ]);
    expect(Object.keys(report.bits[0] ?? {})).to.deep.equal([
      "bit",
      "names",
      "property",
      "hasProperty",
      "offered",
      "reason",
    ]);
  });

  it("follows a --map override to a property QEMU has", async () => {
    // Mapping bit 6 to a real property shows the map is used (the device still cannot offer bit 6).
    const result = await runCli(["probe", "--json", "--map", "6=free-page-reporting"]);
    const report = JSON.parse(result.stdout) as {
      bits: { bit: number; property: string; hasProperty: boolean; offered: boolean }[];
    };
    expect(report.bits[6]).to.deep.include({
      property: "free-page-reporting",
      hasProperty: true,
      offered: false,
    });
  });

  describe("bad input: one line, naming the problem and the fix, non-zero exit", () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "bb-cli-"));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("a missing --qemu", async () => {
      const result = await runCli(["probe", "--qemu", join(dir, "nope")]);
      expect(result.exitCode).to.equal(2);
      expect(result.stderr.trim().split("\n")).to.have.length(1);
      expect(result.stderr).to.equal(
        `balloon-bench: error: QEMU binary '${join(dir, "nope")}' does not exist (fix: pass --qemu with the path of a qemu-system-x86_64 binary)`,
      );
    });

    it("a non-executable --qemu", async () => {
      const path = join(dir, "qemu");
      await writeFile(path, "#!/bin/sh\n");
      await chmod(path, 0o644);
      const result = await runCli(["probe", "--qemu", path]);
      expect(result.exitCode).to.equal(2);
      expect(result.stderr).to.equal(
        `balloon-bench: error: QEMU binary '${path}' is not executable (fix: chmod +x ${path}, or pass another --qemu)`,
      );
    });

    it("a malformed map entry", async () => {
      const result = await runCli(["probe", "--map", "6:x-device-init-reported"]);
      expect(result.exitCode).to.equal(2);
      expect(result.stderr).to.equal(
        "balloon-bench: error: malformed property map entry '6:x-device-init-reported' (fix: write BIT=PROPERTY, e.g. --map 6=x-device-init-reported)",
      );
    });

    it("an unknown bit in a map entry", async () => {
      const result = await runCli(["probe", "--map", "12=foo"]);
      expect(result.exitCode).to.equal(2);
      expect(result.stderr).to.equal(
        "balloon-bench: error: property map entry '12=foo' names bit 12 (fix: balloon feature bits are 0 to 7)",
      );
    });

    it("an unknown option", async () => {
      const result = await runCli(["probe", "--bogus"]);
      expect(result.exitCode).to.equal(2);
      expect(result.stderr).to.contain("unknown option '--bogus'");
    });
  });
});

describe("balloon-bench doctor @integration", function () {
  this.timeout(60_000);

  it("prints one line per check and says auto picks TCG on this PVM host", async () => {
    const result = await runCli(["doctor"]);
    const lines = result.stdout.trim().split("\n");
    const names = lines.map((l) => l.slice(6).split(/\s{2,}/)[0]);
    expect(names).to.include.members([
      "qemu",
      "tcg",
      "kvm",
      "accel auto",
      "qemu-img",
      "setpriv",
      "mmdebstrap",
      "mke2fs",
      "gcc -static",
      "cache dir",
      "disk space",
    ]);
    expect(result.exitCode).to.equal(lines.some((l) => l.startsWith("FAIL")) ? 1 : 0);
    for (const line of lines.filter((l) => !l.startsWith("ok")))
      expect(line).to.contain("-- fix: ");
  });

  it("fails, with the fix, when QEMU is missing", async () => {
    const result = await runCli(["doctor", "--qemu", "/nonexistent/qemu-system-x86_64"]);
    expect(result.exitCode).to.equal(1);
    expect(result.stdout).to.match(
      /^FAIL {2}qemu +QEMU binary '\/nonexistent\/qemu-system-x86_64' does not exist -- fix: /m,
    );
  });
});
