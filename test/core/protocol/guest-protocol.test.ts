import { readFile } from "node:fs/promises";
import { expect } from "chai";
import { execa } from "execa";
import {
  activeThpSetting,
  parseVmstatDeltas,
  thpSettingFor,
  GUEST_FACTS_SCRIPT,
  describeIterationFailure,
  hugetlbOvercommitPages,
  parseGuestFacts,
  parseGuestSpanMs,
  perfIterationArgv,
  perfStatArgv,
  prepareArgv,
} from "../../../src/core/protocol/guest-protocol.js";
import {
  decodeSysfsFeatureString,
  decodeVirtioStatus,
} from "../../../src/core/balloon/device-features.js";
import { shellCommand } from "../../../src/core/protocol/shell-quote.js";

const fixture = (name: string): Promise<string> =>
  readFile(new URL(`../../fixtures/${name}`, import.meta.url), "utf8");

describe("the bench.sh protocol", () => {
  it("runs perf exactly as bench.sh does, with LC_ALL=C", () => {
    expect(
      perfStatArgv({
        events: ["task-clock", "instructions", "cache-misses"],
        sizeMiB: 256,
        huge: true,
      }),
    ).to.deep.equal([
      "env",
      "LC_ALL=C",
      "perf",
      "stat",
      "-e",
      "task-clock,instructions,cache-misses",
      "-x,",
      "-o",
      "/tmp/bb/perf.csv",
      "--append",
      "--",
      "/tmp/bb/alloc_once",
      "256",
      "huge",
    ]);
  });

  it("passes settle mode and values as positional arguments, never inside the script", () => {
    const argv = prepareArgv({ method: "sleep", ms: 2500 });
    expect(argv.slice(0, 2)).to.deep.equal(["sh", "-c"]);
    expect(argv.slice(3)).to.deep.equal(["bb-prepare", "sleep", "2.500"]);
    expect(argv[2]).not.to.contain("2.5");
    expect(prepareArgv({ method: "flush", pages: 512 }).slice(4)).to.deep.equal(["flush", "512"]);
    // The host waits for RSS itself: the guest only drops caches.
    expect(prepareArgv({ method: "rss", maxMs: 3000 }).slice(4)).to.deep.equal(["none", "0"]);
    expect(
      perfIterationArgv({
        events: ["task-clock"],
        sizeMiB: 64,
        huge: false,
        csvPath: "/tmp/bb/cell.csv",
        vmstat: ["pgfault", "thp_fault_alloc"],
      }).slice(3, 8),
    ).to.deep.equal([
      "bb-iteration",
      "/tmp/bb/cell.csv",
      "pgfault thp_fault_alloc",
      "env",
      "LC_ALL=C",
    ]);
  });

  it("runs the prepare script in a real sh: the sleep, timed with the guest's uptime", async () => {
    const script = (prepareArgv({ method: "sleep", ms: 200 })[2] ?? "").replace(
      "echo 3 > /proc/sys/vm/drop_caches || exit 90",
      "true",
    );
    const result = await execa("sh", ["-c", script, "bb", "sleep", "0.2"]);
    const ms = parseGuestSpanMs(result.stderr, "prepare");
    expect(ms).to.be.within(150, 2000);
    expect(parseGuestSpanMs("bb-prepare 10.50 13.52\n", "prepare")).to.equal(3020);
    expect(parseGuestSpanMs("bb-prepare 10.50 13.52\n", "perf")).to.equal(undefined);
  });

  it("parses vmstat deltas across the perf command, ignoring fields seen only once", () => {
    expect(
      parseVmstatDeltas(
        "bb-vmstat-0 pgfault 100\nbb-vmstat-0 thp_fault_alloc 7\nnoise\nbb-vmstat-1 pgfault 612\nbb-vmstat-1 thp_fault_alloc 135\nbb-vmstat-1 pgfree 3\n",
      ),
    ).to.deep.equal({ pgfault: 512, thp_fault_alloc: 128 });
  });

  it("maps page modes to THP settings and reads the active one", () => {
    expect([thpSettingFor("thp"), thpSettingFor("small"), thpSettingFor("default")]).to.deep.equal([
      "always",
      "never",
      undefined,
    ]);
    expect(activeThpSetting("always [madvise] never")).to.equal("madvise");
  });

  it("runs the perf script in a real sh: the command, then the CSV, keeping its exit code", async () => {
    // A stand-in for perf, and the very same script text.
    const script = perfIterationArgv({ events: ["x"], sizeMiB: 1, huge: false })[2] ?? "";
    const dir = await execa("mktemp", ["-d"]);
    const csv = `${dir.stdout}/perf.csv`;
    const result = await execa(
      "sh",
      [
        "-c",
        shellCommand([
          "sh",
          "-c",
          script,
          "bb",
          csv,
          "pgfault nr_free_pages",
          "sh",
          "-c",
          `echo run >> ${csv}; exit 3`,
        ]),
      ],
      {
        reject: false,
      },
    );
    expect(result.exitCode).to.equal(3);
    expect(result.stdout).to.equal("run");
    // The host's own /proc/vmstat stands in for the guest's: both fields, before and after.
    expect(result.stderr.match(/^bb-vmstat-[01] \S+ \d+$/gm)).to.have.length(4);
    expect(Object.keys(parseVmstatDeltas(result.stderr)).sort()).to.deep.equal([
      "nr_free_pages",
      "pgfault",
    ]);
    expect(parseVmstatDeltas(result.stderr)["pgfault"]).to.be.greaterThan(0);
    expect(parseGuestSpanMs(result.stderr, "perf")).to.be.a("number");
    await execa("rm", ["-rf", dir.stdout]);
  });

  it("names its own failure exit codes", () => {
    expect(describeIterationFailure(91)).to.equal(
      "writing /sys/module/page_reporting/parameters/flush failed",
    );
    expect(describeIterationFailure(1)).to.equal(undefined);
  });

  it("sets hugetlb overcommit to SIZE/2 pages like bench.sh", () => {
    expect(hugetlbOvercommitPages(256)).to.equal(128);
  });

  it("keeps the facts script free of anything user-supplied", () => {
    expect(GUEST_FACTS_SCRIPT).not.to.match(/\$\{?[0-9@*]/);
  });
});

describe("guest facts (recorded from real guests)", () => {
  it("parses the Debian amd64 guest's facts", async () => {
    expect(parseGuestFacts(await fixture("guest/facts-amd64.txt"))).to.deep.equal({
      unameR: "6.1.0-56-amd64",
      hasFlush: false,
      hasHugetlb: true,
      hasModulesTree: true,
      thp: "[always] madvise never",
      memTotalKiB: 2014280,
      perfVersion: "linux-perf 6.1.192-2",
      balloonFeatures: "0100010000000000000000000000010010000000100000000000000000000000",
      balloonDriver: "virtio_balloon",
    });
  });

  it("agrees between guest sysfs and QMP on the negotiated balloon bits", async () => {
    const facts = parseGuestFacts(await fixture("guest/facts-cloud-amd64.txt"));
    const status = JSON.parse(
      await fixture("guest/x-query-virtio-status-cloud-amd64-running.json"),
    ) as unknown;
    const { offered, negotiated } = decodeVirtioStatus(status);
    expect(decodeSysfsFeatureString(facts.balloonFeatures ?? "")).to.deep.equal([1, 5]);
    expect(negotiated.balloonBits).to.deep.equal([1, 5]);
    // Recorded with only free-page-reporting=on: page-poison is on by QEMU's default (bit 4), which
    // is why real runs switch every mapped property explicitly. Bit 40 (RING_RESET), also folded
    // into unknown-dev-features, must not be read as bit 6 or 7.
    expect(offered.balloonBits).to.deep.equal([1, 4, 5]);
  });
});
