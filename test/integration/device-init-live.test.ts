import { expect } from "chai";
import { makePrivateTempDir, removeDir } from "../../src/util/private-dir.js";
import { runCli } from "../helpers/cli.js";
import { testBalloonModule, testQemu } from "../helpers/device-init-builds.js";
import { eventually, qemuPidsWithMarker } from "../helpers/processes.js";

const PARAMS = "/sys/module/virtio_balloon/parameters";
const COUNTERS = [
  "device_init_reported_pages",
  "device_init_reported_inited",
  "device_init_deflated_pages",
] as const;

/**
 * What the fixture device claims for bits 6 and 7, seen from the guest: `up` with the fixture
 * QEMU and module (`--balloon-module`, bench.sh's rmmod/insmod), the balloon moved over QMP, and
 * the module's counters read over SSH. Reporting happens on its own after boot (the guest's free
 * memory), so bit 6's counters grow without a workload.
 */
describe("bits 6 and 7 in a live VM: what the fixture device claimed @integration", function () {
  this.timeout(900_000);
  const name = "devinit";
  let runtime: string;
  let env: Record<string, string>;

  before(async function () {
    this.timeout(3_600_000); // the first build of the fixture QEMU
    const [qemu, ko] = await Promise.all([testQemu(), testBalloonModule()]);
    runtime = await makePrivateTempDir("bb-devinit-live-");
    env = { XDG_RUNTIME_DIR: runtime };
    const up = await runCli(
      [
        ...["up", "--name", name, "--qemu", qemu, "--accel", "tcg", "--memory", "1024"],
        ...["--vcpus", "1", "--features", "5,6,7", "--balloon-module", ko],
      ],
      env,
    );
    if (up.exitCode !== 0) throw new Error(`up failed (${up.exitCode}): ${up.stderr}`);
    expect(up.stdout).to.contain(`balloon module ${ko}`);
  });
  after(async () => {
    await runCli(["down", name, "--quit-timeout", "5"], env);
    await removeDir(runtime);
    expect(await qemuPidsWithMarker(`bb-vm-live-${name}`)).to.deep.equal([]);
  });

  async function counters(): Promise<Record<(typeof COUNTERS)[number], number>> {
    const result = await runCli(
      ["exec", name, "--", "cat", ...COUNTERS.map((c) => `${PARAMS}/${c}`)],
      env,
    );
    expect(result.exitCode, result.stderr).to.equal(0);
    const values = result.stdout.trim().split("\n").map(Number);
    return Object.fromEntries(COUNTERS.map((c, i) => [c, values[i] ?? NaN])) as Record<
      (typeof COUNTERS)[number],
      number
    >;
  }

  it("the module negotiated 5, 6 and 7 (QMP and the guest's sysfs)", async () => {
    const json = await runCli(["features", name, "--json"], env);
    const features = JSON.parse(json.stdout) as {
      negotiatedQmp: number[];
      negotiatedSysfs: number[];
    };
    expect(features.negotiatedQmp.filter((b) => b >= 5)).to.deep.equal([5, 6, 7]);
    expect(features.negotiatedSysfs.filter((b) => b >= 5)).to.deep.equal([5, 6, 7]);
  });

  it("bit 6: pages the guest reported are claimed as initialized by the device", async () => {
    // Free page reporting starts 2 s after pages are freed; the boot's free memory is enough.
    let last = await counters();
    const claimed = await eventually(async () => {
      last = await counters();
      return last.device_init_reported_inited > 0;
    }, 60_000);
    expect(claimed, JSON.stringify(last)).to.equal(true);
    expect(last.device_init_reported_inited).to.be.at.most(last.device_init_reported_pages);
  });

  it("bit 7: a 256 MiB inflate and deflate counts every deflated 4 KiB page", async () => {
    const before = (await counters()).device_init_deflated_pages;
    for (const size of ["768", "1024"]) {
      const moved = await runCli(["balloon", name, "set", size], env);
      expect(moved.exitCode, moved.stderr).to.equal(0);
    }
    const deflated = (await counters()).device_init_deflated_pages - before;
    expect(deflated).to.equal((256 * 1024 * 1024) / 4096);
  });
});
