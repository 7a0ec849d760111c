import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { shellCommand } from "../../src/core/protocol/shell-quote.js";
import type { Sample } from "../../src/core/results-format/sample.js";
import { runCli } from "../helpers/cli.js";

const NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages";
const FREE_HUGEPAGES = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";

interface Manifest {
  vm: { memMerge: boolean; memoryBacking: string; pin?: string; caveats?: string[] };
  hostState?: { ksmRun: number | null; load: { loadAvg: number[] | null } };
  cells: { id: string; status: string }[];
  boots: {
    logDir: string;
    status: string;
    hostLoad?: { loadAvg: number[] | null; procsRunning: number | null };
    pinning?: {
      vcpus: { vcpu: number; cpu: number }[];
      others: { cpus: string };
      verified: boolean;
    };
  }[];
}

const plan = (vm: string, workload: string, configs = "") =>
  `iterations: 1
rounds: 1
settleMs: 200
accelerator: tcg
events: [task-clock]
vm: { memoryMiB: 1024, vcpus: 2, ${vm} }
${configs}workloads: [{ size: 16, ${workload} }]
`;

describe("guest memory backing and mem-merge, end to end under TCG @integration", function () {
  this.timeout(600_000);
  let dir: string;
  let savedHugepages: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-mem-"));
    savedHugepages = (await readFile(NR_HUGEPAGES, "utf8")).trim();
  });
  after(async () => {
    await writeFile(NR_HUGEPAGES, savedHugepages).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  async function runPlan(name: string, text: string) {
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, text);
    const out = join(dir, name);
    return { out, result: await runCli(["run", "--plan", file, "--out", out]) };
  }

  const manifestOf = async (out: string) =>
    JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as Manifest;

  it("boots a memfd-backed, pinned guest with mem-merge off and records argv, host state, pinning and interference", async () => {
    const { out, result } = await runPlan(
      "memfd",
      plan('memoryBacking: memfd, pin: "1,0"', "balloon: none"),
    );
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stderr).to.match(
      /pinned vCPU 0 -> CPU 1, vCPU 1 -> CPU 0; QEMU's other \d+ threads -> CPUs 0-1 \(verified in \/proc\)/,
    );
    const manifest = await manifestOf(out);
    expect(manifest.vm).to.deep.include({ memMerge: false, memoryBacking: "memfd", pin: "1,0" });
    expect(manifest.hostState?.ksmRun).to.equal(0);
    const [boot] = manifest.boots;
    expect(boot?.status).to.equal("complete");
    expect(boot?.hostLoad?.loadAvg).to.have.length(3);
    expect(boot?.pinning?.vcpus.map((v) => [v.vcpu, v.cpu])).to.deep.equal([
      [0, 1],
      [1, 0],
    ]);
    expect(boot?.pinning?.verified).to.equal(true);

    // The exact command line next to the boot's logs, as JSON and as a shell line.
    const argv = JSON.parse(
      await readFile(join(out, boot?.logDir ?? "", "qemu-argv.json"), "utf8"),
    ) as string[];
    expect(argv[0]).to.match(/qemu-system-x86_64$/);
    expect(argv.slice(1, 3)).to.deep.equal(["-machine", "q35,mem-merge=off,memory-backend=mem0"]);
    expect(argv).to.include("memory-backend-memfd,id=mem0,size=1024M,merge=off");
    const script = await readFile(join(out, boot?.logDir ?? "", "qemu-command.sh"), "utf8");
    expect(script.trimEnd().split("\n").at(-1)).to.equal(shellCommand(argv));

    const [cell] = manifest.cells;
    const [sample] = (await readFile(join(out, "cells", cell?.id ?? "", "samples.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Sample);
    const interference = sample?.telemetry?.interference;
    expect(interference?.vcpuCpuMs).to.be.above(0);
    expect(interference?.nonVcpuCpuMs).to.be.at.least(0);
    expect(interference?.nonVcpuThreads).to.be.above(0);
    expect(interference?.cpuPressureStallMs).to.be.a("number");
    expect(interference?.qemuNumaKiB?.["0"]).to.be.above(0);
  });

  it("refuses hugetlb with a reporting scenario, and too few host huge pages, before booting", async () => {
    const refused = await runPlan(
      "hugetlb-refused",
      plan("memoryBacking: hugetlb", "balloon: page-reporting"),
    );
    expect(refused.result.exitCode).to.equal(2);
    expect(refused.result.stderr).to.contain(
      'workloads[0].balloon: workload alloc_once-16M uses the balloon (page-reporting) on hugetlb-backed guest memory: QEMU warns that ballooning with a backing page size over 4 KiB "may not be reliable"',
    );
    await writeFile(NR_HUGEPAGES, "0");
    const short = await runPlan("hugetlb-short", plan("memoryBacking: hugetlb", "balloon: none"));
    expect(short.result.exitCode).to.equal(2);
    expect(short.result.stderr.trim().split("\n").at(-1)).to.equal(
      "balloon-bench: error: vm.memoryBacking hugetlb needs 512 free 2 MiB huge pages for a 1024 MiB guest; the host has 0 free (0 reserved) (fix: raise vm.nr_hugepages: sysctl -w vm.nr_hugepages=512 (as root))",
    );
  });

  it("boots a hugetlb-backed guest on huge pages the test reserved, with the balloon caveat warned and recorded", async function () {
    await writeFile(NR_HUGEPAGES, "520");
    const free = Number((await readFile(FREE_HUGEPAGES, "utf8")).trim());
    if (free < 512) this.skip(); // the host could not find 1 GiB of free 2 MiB pages
    const { out, result } = await runPlan(
      "hugetlb",
      plan(
        "memoryBacking: hugetlb, allowHugetlbBalloon: true",
        "balloon: page-reporting",
        "configs: [{ name: reporting, bits: [5] }]\n",
      ),
    );
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stderr).to.contain(
      "warning: workload alloc_once-16M uses the balloon (page-reporting) on hugetlb-backed guest memory (vm.allowHugetlbBalloon)",
    );
    const manifest = await manifestOf(out);
    expect(manifest.vm.memoryBacking).to.equal("hugetlb");
    expect(manifest.vm.caveats).to.have.length(2);
    expect(manifest.cells.map((c) => c.status)).to.deep.equal(["complete"]);
    const argv = JSON.parse(
      await readFile(join(out, manifest.boots[0]?.logDir ?? "", "qemu-argv.json"), "utf8"),
    ) as string[];
    expect(argv).to.include(
      "memory-backend-memfd,id=mem0,size=1024M,merge=off,hugetlb=on,hugetlbsize=2M",
    );
  });
});
