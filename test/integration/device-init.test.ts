import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { runCli } from "../helpers/cli.js";
import { testBalloonModule, testQemu } from "../helpers/device-init-builds.js";
import { qemuPidsWithMarker } from "../helpers/processes.js";

/**
 * Bits 6 and 7 end to end under TCG, with the fixtures of test/fixtures/device-init: a QEMU
 * 10.0 that offers them (scripts/build-test-qemu.sh, `qemu build`) and a virtio_balloon.ko that
 * negotiates them (scripts/build-test-balloon-module.sh). Both are built on first use, then
 * cached.
 */
const CONFIGS = `configs:
  - { name: r5, bits: [5] }
  - { name: r56, bits: [5, 6] }
  - { name: r57, bits: [5, 7] }
  - { name: r567, bits: [5, 6, 7] }
`;
const AUTO_CONFIGS = `  - { name: auto-with-reporting, bits: [5], properties: { x-device-init-reported: auto } }
  - { name: auto-without-reporting, bits: [2], properties: { x-device-init-reported: auto } }
`;
const plan = (extra: string) => `seed: 14
iterations: 1
rounds: 1
settleMs: 100
vm: { memoryMiB: 1024, vcpus: 1 }
events: [task-clock]
workloads:
  - { name: small, size: 16 }
${extra}`;

interface Cell {
  id: string;
  status: string;
  features: {
    requested: number[];
    offered: number[];
    negotiatedQmp: number[];
    negotiatedSysfs: number[];
    findings: string[];
  };
}

async function cellsOf(out: string): Promise<Map<string, Cell>> {
  const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as {
    qemu: { version: string };
    cells: Cell[];
  };
  expect(manifest.qemu.version).to.equal("10.0.13");
  return new Map(manifest.cells.map((cell) => [cell.id.split("__")[1] ?? "", cell]));
}

describe("bits 6 and 7 with the device-init fixture QEMU and module @integration", function () {
  this.timeout(900_000);
  let dir: string;
  let qemu: string;
  let ko: string;

  before(async function () {
    // The first build of the test QEMU takes minutes (about 7 on two idle cores); cached after.
    this.timeout(3_600_000);
    dir = await mkdtemp(join(tmpdir(), "bb-device-init-"));
    [qemu, ko] = await Promise.all([testQemu(), testBalloonModule()]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    expect(await qemuPidsWithMarker("bb-vm-")).to.deep.equal([]);
  });

  it("probe says bits 2-7 are offerable (table)", async () => {
    const result = await runCli(["probe", "--qemu", qemu]);
    expect(result.exitCode, result.stderr).to.equal(0);
    const rows = result.stdout.split("\n").filter((l) => /^\d /.test(l));
    const cells = rows.map((l) => l.split(/\s{2,}/).slice(0, 5));
    expect(cells.slice(2)).to.deep.equal([
      ["2", "DEFLATE_ON_OOM", "deflate-on-oom", "yes", "yes"],
      ["3", "FREE_PAGE_HINT", "free-page-hint", "yes", "yes"],
      ["4", "PAGE_POISON", "page-poison", "yes", "yes"],
      ["5", "PAGE_REPORTING", "free-page-reporting", "yes", "yes"],
      ["6", "DEVICE_INIT_REPORTED", "x-device-init-reported", "yes", "yes"],
      ["7", "DEVICE_INIT_DEFLATED", "device-init-on-inflate", "yes", "yes"],
    ]);
  });

  it("probe says bits 2-7 are offerable (JSON), with QEMU 10.0.13", async () => {
    const result = await runCli(["probe", "--qemu", qemu, "--json"]);
    const report = JSON.parse(result.stdout) as {
      qemu: { version: string };
      bits: { bit: number; offered: boolean }[];
    };
    expect(report.qemu.version).to.equal("10.0.13");
    expect(report.bits.filter((b) => b.offered).map((b) => b.bit)).to.deep.equal([
      1, 2, 3, 4, 5, 6, 7,
    ]);
  });

  it("with the test module: every bit requested is offered and negotiated; auto follows reporting", async () => {
    const planPath = join(dir, "module.yaml");
    await writeFile(planPath, `${plan(CONFIGS + AUTO_CONFIGS)}balloonModule: ${ko}\n`);
    const out = join(dir, "module");
    const result = await runCli(["run", "--plan", planPath, "--qemu", qemu, "--out", out]);
    expect(result.exitCode, result.stderr).to.equal(0);
    const cells = await cellsOf(out);
    const expected: [string, number[]][] = [
      ["r5", [5]],
      ["r56", [5, 6]],
      ["r57", [5, 7]],
      ["r567", [5, 6, 7]],
    ];
    for (const [config, bits] of expected) {
      const features = cells.get(config)?.features;
      expect(features?.requested, config).to.deep.equal(bits);
      expect(
        features?.offered.filter((b) => b >= 2),
        config,
      ).to.deep.equal(bits);
      expect(
        features?.negotiatedQmp.filter((b) => b >= 2),
        config,
      ).to.deep.equal(bits);
      expect(
        features?.negotiatedSysfs.filter((b) => b >= 2),
        config,
      ).to.deep.equal(bits);
      expect(features?.findings, config).to.deep.equal([]);
    }
    // auto: the device offers bit 6 exactly when free-page-reporting is on.
    expect(cells.get("auto-with-reporting")?.features.offered).to.include.members([5, 6]);
    expect(cells.get("auto-with-reporting")?.features.negotiatedSysfs).to.include.members([5, 6]);
    expect(cells.get("auto-without-reporting")?.features.offered).to.not.include(6);
  });

  it("with the stock module: bits 6/7 offered but not negotiated, a finding that compare flags", async () => {
    const planPath = join(dir, "stock.yaml");
    await writeFile(planPath, plan(CONFIGS));
    const out = join(dir, "stock");
    const result = await runCli(["run", "--plan", planPath, "--qemu", qemu, "--out", out]);
    expect(result.exitCode, result.stderr).to.equal(0);
    const cells = await cellsOf(out);
    const r567 = cells.get("r567")?.features;
    expect(r567?.offered.filter((b) => b >= 2)).to.deep.equal([5, 6, 7]);
    expect(r567?.negotiatedSysfs.filter((b) => b >= 2)).to.deep.equal([5]);
    expect(r567?.findings).to.deep.equal([
      "bit 6 requested and offered, but kernel debian-stock did not negotiate it",
      "bit 7 requested and offered, but kernel debian-stock did not negotiate it",
    ]);
    expect(cells.get("r5")?.features.findings).to.deep.equal([]);
    const compare = await runCli(["compare", out, "--baseline", "config=r5"]);
    expect(compare.exitCode, compare.stderr).to.be.oneOf([0, 3]);
    expect(compare.stdout).to.contain(
      "bit 6 requested and offered, but kernel debian-stock did not negotiate it",
    );
    expect(compare.stdout).to.contain(
      "bit 7 requested and offered, but kernel debian-stock did not negotiate it",
    );
  });

  it("x-device-init-reported=on without free-page-reporting: QEMU's error, in one line", async () => {
    const planPath = join(dir, "on.yaml");
    await writeFile(
      planPath,
      plan(
        "configs:\n  - { name: on-alone, bits: [2], properties: { x-device-init-reported: on } }\n",
      ),
    );
    const result = await runCli([
      "run",
      "--plan",
      planPath,
      "--qemu",
      qemu,
      "--out",
      join(dir, "on"),
    ]);
    expect(result.exitCode).to.equal(1);
    expect(result.stderr).to.match(
      /^balloon-bench: error: 1 cell\(s\) failed: debian-stock__on-alone__small \(QEMU exited during startup \(exit code 1\): qemu-system-x86_64: -device virtio-balloon-pci,.*: 'x-device-init-reported=on' requires 'free-page-reporting=on'\)/m,
    );
  });

  it("refuses bit 6 without bit 5 before booting, with the probe's words", async () => {
    const out = join(dir, "refused");
    const result = await runCli(["run", "--qemu", qemu, "--features", "6", "--out", out]);
    expect(result.exitCode).to.equal(2);
    expect(result.stderr.trim()).to.match(
      /^balloon-bench: error: --features: bit 6 \(VIRTIO_BALLOON_F_DEVICE_INIT_REPORTED\) requires bit 5 \(VIRTIO_BALLOON_F_PAGE_REPORTING\) \(fix: add bit 5 to --features\)$/,
    );
    expect(await stat(out).catch(() => undefined)).to.equal(undefined);
  });
});
