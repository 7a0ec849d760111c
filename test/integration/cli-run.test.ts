import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { expect } from "chai";
import { parsePerfStatCsv } from "../../src/core/perf/perf-csv.js";
import type { Sample } from "../../src/core/results-format/sample.js";
import { runCli } from "../helpers/cli.js";
import { qemuPidsWithMarker } from "../helpers/processes.js";
import { stockGuestParts } from "../helpers/guest.js";

interface CellRecord {
  id: string;
  status: string;
  kernel: { name: string; sha256: string; release: string; bootMethod: string };
  guest: { unameR: string };
  features: {
    requested: number[];
    offered: number[];
    negotiatedQmp: number[];
    negotiatedSysfs: number[];
  };
  settle: { method: string; ms?: number };
}

describe("balloon-bench run, end to end under TCG @integration", function () {
  this.timeout(900_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-run-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("runs two kernel builds, records negotiated features, raw CSV, samples and console, and prints the table", async () => {
    const out = join(dir, "two-kernels");
    const result = await runCli([
      "run",
      "--kernel",
      "stock=debian:amd64",
      "--kernel",
      "cloud=debian:cloud-amd64",
      "--size",
      "32",
      "--iterations",
      "2",
      "--rounds",
      "1",
      "--settle",
      "200",
      "--memory",
      "1024",
      "--out",
      out,
    ]);
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stderr).to.contain("accelerator: tcg (auto: chose TCG because");
    expect(result.stdout).to.match(/task-clock +\d+(\.\d+)? ms ± \d+(\.\d+)? ms +2/);
    expect(result.stdout).to.contain("instructions  not supported: TCG emulates no hardware PMU");
    expect(result.stdout).to.contain(`results: ${out}`);

    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as {
      accelerator: { used: string };
      qemu: { version: string };
      image: { hash: string };
      workload: { binarySha256: string; sourceSha256: string };
      cells: CellRecord[];
    };
    expect(manifest.accelerator.used).to.equal("tcg");
    expect(manifest.image.hash).to.match(/^[0-9a-f]{64}$/);
    expect(manifest.workload.binarySha256).to.match(/^[0-9a-f]{64}$/);
    expect(manifest.cells.map((c) => [c.id, c.status])).to.deep.equal([
      ["stock__bits-5__alloc_once-32M", "complete"],
      ["cloud__bits-5__alloc_once-32M", "complete"],
    ]);
    const [stock, cloud] = manifest.cells;
    expect(stock?.guest.unameR).to.match(/-amd64$/);
    expect(cloud?.guest.unameR).to.match(/-cloud-amd64$/);
    expect(stock?.kernel.sha256).not.to.equal(cloud?.kernel.sha256);
    for (const cell of manifest.cells) {
      // Page poison is switched off explicitly, so QEMU offers exactly bits 1 (always) and 5.
      expect(cell.features).to.deep.include({
        requested: [5],
        offered: [1, 5],
        negotiatedQmp: [1, 5],
        negotiatedSysfs: [1, 5],
      });
      const cellDir = join(out, "cells", cell.id);
      const csv = await readFile(join(cellDir, "perf-r1.csv"), "utf8");
      expect(csv.startsWith("# started on ")).to.equal(true);
      const runs = parsePerfStatCsv(csv);
      expect(runs).to.have.length(2);
      const samples = (await readFile(join(cellDir, "samples.jsonl"), "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Sample);
      expect(samples.map((s) => s.iteration)).to.deep.equal([1, 2]);
      for (const [i, sample] of samples.entries()) {
        expect(sample.settle).to.deep.equal({ method: "sleep", sleptMs: 200 });
        expect([sample.rawCsv, sample.perfRun]).to.deep.equal(["perf-r1.csv", i]);
        expect(sample.counters["task-clock"]?.status).to.equal("counted");
        expect(sample.counters["task-clock"]?.value).to.equal(
          runs[i]?.counters[0]?.value.kind === "counted" ? runs[i]?.counters[0]?.value.value : NaN,
        );
        expect(sample.counters["instructions"]).to.deep.include({
          status: "not-supported",
          value: null,
        });
      }
      const bootDir = join(out, "boots", `${cell.id.split("__")[0]}__bits-5__r1`);
      expect(await readFile(join(bootDir, "console.log"), "utf8")).to.contain(
        "balloon-bench: sshd ready",
      );
    }
  });

  it("insmods a user-supplied virtio_balloon.ko in place of the kernel's, as bench.sh does", async () => {
    const { kernel } = await stockGuestParts();
    const ko = join(
      dirname(dirname(kernel.kernelPath)),
      "lib/modules",
      kernel.release,
      "kernel/drivers/virtio/virtio_balloon.ko",
    );
    const out = join(dir, "module");
    const result = await runCli([
      "run",
      "--balloon-module",
      ko,
      "--size",
      "16",
      "--iterations",
      "1",
      "--settle",
      "100",
      "--memory",
      "1024",
      "--out",
      out,
    ]);
    expect(result.exitCode, result.stderr).to.equal(0);
    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as {
      cells: CellRecord[];
    };
    expect(manifest.cells[0]?.features.negotiatedSysfs).to.deep.equal([1, 5]);
    expect(manifest.cells[0]?.kernel.name).to.equal("debian-stock");
  });

  it("marks a kernel that panics failed with its console tail, runs the other cells, exits 1 listing the failure", async () => {
    const out = join(dir, "panic");
    const result = await runCli([
      "run",
      "--kernel",
      "broken=debian:amd64,cmdline=root=/dev/vdz bb.rootwait=1",
      "--kernel",
      "stock=debian:amd64",
      "--size",
      "16",
      "--iterations",
      "1",
      "--settle",
      "100",
      "--memory",
      "1024",
      "--boot-timeout",
      "90",
      "--out",
      out,
    ]);
    expect(result.exitCode).to.equal(1);
    expect(result.stderr).to.match(
      /^boot broken__bits-5__r1 failed: guest broken stopped before SSH came up \(QEMU exit code 0, kernel panic\)/m,
    );
    expect(result.stderr).to.contain(
      "balloon-bench: initramfs error: root device /dev/vdz not found",
    );
    const last = result.stderr.trim().split("\n").at(-1);
    expect(last).to.match(
      /^balloon-bench: error: 1 cell\(s\) failed: broken__bits-5__alloc_once-16M \(guest broken stopped before SSH came up/,
    );
    expect(result.stdout).to.contain("stock, bits-5, alloc_once-16M (tcg)");
    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as {
      cells: { status: string; error: string; consoleTail: string }[];
    };
    expect(manifest.cells.map((c) => c.status)).to.deep.equal(["failed", "complete"]);
    expect(manifest.cells[0]?.consoleTail).to.contain("root device /dev/vdz not found");
    expect(await qemuPidsWithMarker("bb-vm-")).to.deep.equal([]);
  });

  it("gives up on a guest that never reaches SSH within the boot timeout, and leaves no QEMU", async () => {
    // init=/bin/cat: the guest is alive but blocks reading its console, so sshd never starts.
    const out = join(dir, "hang");
    const started = Date.now();
    const result = await runCli([
      "run",
      "--kernel",
      "hang=debian:amd64,cmdline=init=/bin/cat",
      "--size",
      "32",
      "--boot-timeout",
      "12",
      "--out",
      out,
    ]);
    expect(result.exitCode).to.equal(1);
    expect(result.stderr).to.match(
      /^boot hang__bits-5__r1 failed: guest hang did not answer SSH within 12 s: no 'balloon-bench: sshd ready' on the console; the console is empty (although|and) QEMU used \d+\.\d s of CPU in 12 s: /m,
    );
    expect(result.stderr).to.match(/^balloon-bench: error: 1 cell\(s\) failed: hang__bits-5/m);
    expect(Date.now() - started).to.be.lessThan(40_000);
    expect(await qemuPidsWithMarker("bb-vm-")).to.deep.equal([]);
  });

  describe("bad input is refused before anything boots", () => {
    const cases: [string, string[], RegExp][] = [
      [
        "a missing kernel file",
        ["--kernel", "k=/nonexistent/bzImage"],
        /^balloon-bench: error: kernel image '\/nonexistent\/bzImage' does not exist \(fix: /,
      ],
      [
        "a file that is not a kernel",
        ["--kernel", "k=/bin/ls"],
        /^balloon-bench: error: '\/bin\/ls' is not an x86 kernel image \(no bzImage boot header\) \(fix: /,
      ],
      [
        "a size that does not fit in memory",
        ["--size", "4000", "--memory", "2048"],
        /^balloon-bench: error: --size 4000 MiB does not fit in a 2048 MiB guest/,
      ],
      [
        "--huge with an odd size",
        ["--huge", "--size", "255"],
        /^balloon-bench: error: --huge needs a --size that is a multiple of 2 MiB/,
      ],
      [
        "a feature bit this QEMU cannot offer",
        ["--features", "5,6"],
        /^balloon-bench: error: config bits-5-6: bit 6 \(VIRTIO_BALLOON_F_DEVICE_INIT_REPORTED\) needs virtio-balloon-pci property 'x-device-init-reported'.*--skip-unsupported/,
      ],
      [
        "bit 6 without bit 5",
        ["--features", "6"],
        /^balloon-bench: error: --features: bit 6 \(VIRTIO_BALLOON_F_DEVICE_INIT_REPORTED\) requires bit 5/,
      ],
      [
        "a malformed --kernel",
        ["--kernel", "/boot/vmlinuz"],
        /^balloon-bench: error: malformed --kernel '\/boot\/vmlinuz'/,
      ],
      [
        "bit 6 alone, with the fix in --features terms (issue 13, case 12)",
        ["--features", "6"],
        /\(fix: add bit 5 to --features\)$/,
      ],
      [
        "a --map entry for a bit that does not exist, with the flag's syntax",
        ["--map", "99=x"],
        /names bit 99 \(fix: write BIT=PROPERTY, e.g\. --map 6=x-device-init-reported\)$/,
      ],
      [
        "--vcpus 0, with an example that fits",
        ["--vcpus", "0"],
        /got '0' \(fix: e\.g\. --vcpus 2\)$/,
      ],
      [
        "an unknown Debian flavour (exit 2, issue 13, case 11)",
        ["--kernel", "x=debian:nosuch"],
        /^balloon-bench: error: Debian has no kernel flavour 'nosuch' \(no package linux-image-nosuch\)/,
      ],
      [
        "--out on /proc (it would hang in mkdir)",
        ["--out", "/proc/x"],
        /^balloon-bench: error: --out \/proc\/x is on the proc pseudo-filesystem/,
      ],
      [
        "--out on /sys",
        ["--out", "/sys/x"],
        /^balloon-bench: error: --out \/sys\/x is on the sysfs pseudo-filesystem/,
      ],
    ];
    for (const [what, args, pattern] of cases) {
      it(what, async () => {
        const out = join(dir, `bad-${what.replace(/\W+/g, "-")}`);
        const result = await runCli(["run", "--out", out, ...args]);
        expect(result.exitCode).to.equal(2);
        const lines = result.stderr.trim().split("\n");
        // The Debian lookup comes after the accelerator choice, whose lines come first.
        if (!what.startsWith("an unknown Debian flavour")) expect(lines).to.have.length(1);
        expect(lines.at(-1)).to.match(pattern);
        expect(result.stderr).not.to.match(/^boot /m);
        expect(await readdir(dir)).not.to.include(out.split("/").at(-1));
      });
    }
  });
});

describe("balloon-bench import and image @integration", function () {
  this.timeout(300_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-import-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("imports a hand-run bench.sh CSV byte for byte, one sample per perf run", async () => {
    const csvPath = new URL("../fixtures/perf/guest-tcg-append-3runs.csv", import.meta.url)
      .pathname;
    const out = join(dir, "imported");
    const result = await runCli([
      "import",
      csvPath,
      "--kernel",
      "manual",
      "--config",
      "baseline",
      "--out",
      out,
    ]);
    expect(result.exitCode, result.stderr).to.equal(0);
    const cell = join(out, "cells", "manual__baseline__alloc_once-256M");
    expect(await readFile(join(cell, "perf.csv"), "utf8")).to.equal(
      await readFile(csvPath, "utf8"),
    );
    const lines = (await readFile(join(cell, "samples.jsonl"), "utf8")).trim().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as Sample).counters["task-clock"]?.value)).to.deep.equal(
      [579.41, 540.4, 509.68],
    );
    const again = await runCli([
      "import",
      csvPath,
      "--kernel",
      "manual",
      "--config",
      "baseline",
      "--out",
      out,
    ]);
    expect(again.exitCode).to.equal(2);
    expect(again.stderr).to.contain("already has a cell manual__baseline__alloc_once-256M");
  });

  it("rejects a malformed CSV with its line number", async () => {
    const bad = join(dir, "bad.csv");
    await writeFile(
      bad,
      "# started on Mon Nov 23 08:48:24 2026\n\n579.41,msec,task-clock,notanumber,100.00,0.985,CPUs utilized\n",
    );
    const result = await runCli([
      "import",
      bad,
      "--kernel",
      "k",
      "--config",
      "c",
      "--out",
      join(dir, "never"),
    ]);
    expect(result.exitCode).to.equal(2);
    expect(result.stderr).to.match(/^balloon-bench: error: .*bad\.csv: .*line 3/);
  });

  it("image build reports the cached image as up to date", async () => {
    const result = await runCli(["image", "build"]);
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^up to date: .*\/base\.img \(recipe [0-9a-f]{16}\)$/);
  });
});
