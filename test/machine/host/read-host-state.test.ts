import { expect } from "chai";
import { readHostState } from "../../../src/machine/host/read-host-state.js";
import { hostTree } from "../../helpers/host-trees.js";

describe("readHostState on recorded /sys and /proc trees", () => {
  it("reads this development VM: no cpufreq, no boost control, SMT not supported, KSM off", async () => {
    const state = await readHostState(hostTree("dev-tcg"));
    expect(state.cpus).to.deep.equal({ online: "0-1", possible: "0-1" });
    expect(state.cpufreq).to.equal(null);
    expect(state.boost).to.equal(null);
    expect(state.smt).to.deep.equal({ control: "notsupported", active: false });
    expect(state.thp).to.deep.equal({ enabled: "madvise", defrag: "madvise" });
    expect(state.ksmRun).to.equal(0);
    expect(state.numaNodes).to.equal("0");
    expect(state.isolatedCpus).to.equal("");
    expect(state.nohzFull).to.equal(null);
    expect(state.perfEventParanoid).to.equal(2);
    expect(state.hugepages2M).to.deep.equal({ total: 0, free: 0 });
    expect(state.load.loadAvg).to.have.length(3);
    expect(state.load.procsRunning).to.be.a("number");
    expect(state.load.stealTicks).to.be.a("number");
    expect(state.load.cpuPressureSomeAvg10).to.be.a("number");
  });

  it("reads a KSM-on, powersave, turbo-on intel_pstate host", async () => {
    const state = await readHostState(hostTree("ksm-powersave"));
    expect(state.cpufreq).to.deep.equal({
      driver: "intel_pstate",
      governors: { "0": "powersave", "1": "powersave", "2": "powersave", "3": "powersave" },
      available: ["performance", "powersave"],
    });
    expect(state.boost).to.deep.equal({ on: true, source: "intel_pstate/no_turbo" });
    expect(state.smt).to.deep.equal({ control: "on", active: true });
    expect(state.thp).to.deep.equal({ enabled: "always", defrag: "madvise" });
    expect(state.ksmRun).to.equal(1);
    expect(state.numaNodes).to.equal("0-1");
    expect(state.load).to.deep.equal({
      loadAvg: [3.52, 2.1, 1.75],
      procsRunning: 6,
      stealTicks: 250000,
      totalTicks: 13576000,
      cpuPressureSomeAvg10: 41.2,
      cpuPressureSomeTotalUs: 99887766,
    });
  });

  it("reads a tuned acpi-cpufreq host: boost off, SMT off, isolated CPUs, no PSI", async () => {
    const state = await readHostState(hostTree("tuned"));
    expect(state.cpus).to.deep.equal({ online: "0-3", possible: "0-7" });
    expect(state.cpufreq?.driver).to.equal("acpi-cpufreq");
    expect(Object.values(state.cpufreq?.governors ?? {})).to.deep.equal([
      "performance",
      "performance",
      "performance",
      "performance",
    ]);
    expect(state.boost).to.deep.equal({ on: false, source: "cpufreq/boost" });
    expect(state.smt).to.deep.equal({ control: "off", active: false });
    expect(state.isolatedCpus).to.equal("2-3");
    expect(state.nohzFull).to.equal("2-3");
    expect(state.perfEventParanoid).to.equal(-1);
    expect(state.hugepages2M).to.deep.equal({ total: 1024, free: 1024 });
    expect(state.load.cpuPressureSomeAvg10).to.equal(null);
    expect(state.load.procsRunning).to.equal(1);
  });

  it("reads an empty root as all unknown, without throwing", async () => {
    const state = await readHostState("/nonexistent-root");
    expect(state.cpufreq).to.equal(null);
    expect(state.ksmRun).to.equal(null);
    expect(state.load.loadAvg).to.equal(null);
  });
});
