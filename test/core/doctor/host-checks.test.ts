import { expect } from "chai";
import { renderDoctor } from "../../../src/core/doctor/doctor-checks.js";
import { hostStateChecks } from "../../../src/core/doctor/host-checks.js";
import { readHostState } from "../../../src/machine/host/read-host-state.js";
import { hostTree } from "../../helpers/host-trees.js";

async function checksOf(tree: string) {
  return new Map(
    hostStateChecks(await readHostState(hostTree(tree))).map((c) => [c.name, c] as const),
  );
}

describe("doctor's host checks, on recorded trees", () => {
  it("flags KSM, powersave, turbo, SMT, NUMA and load on a KSM-on powersave host, each with its fix", async () => {
    const checks = await checksOf("ksm-powersave");
    expect(checks.get("ksm")).to.deep.equal({
      name: "ksm",
      status: "warn",
      detail: "KSM is on (/sys/kernel/mm/ksm/run = 1): it merges the guest's zeroed pages",
      fix: "echo 0 > /sys/kernel/mm/ksm/run, or run with vm.memMerge false (the default)",
    });
    expect(checks.get("cpu governor")?.status).to.equal("warn");
    expect(checks.get("cpu governor")?.detail).to.match(/^powersave \(intel_pstate\): the clock/);
    expect(checks.get("cpu governor")?.fix).to.contain("doctor --tune --apply");
    expect(checks.get("cpu boost")?.status).to.equal("warn");
    expect(checks.get("cpu boost")?.fix).to.contain(
      "echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo",
    );
    expect(checks.get("smt")?.status).to.equal("warn");
    expect(checks.get("numa")?.status).to.equal("warn");
    expect(checks.get("numa")?.detail).to.match(/^2 NUMA nodes \(0-1\)/);
    expect(checks.get("host load")?.status).to.equal("warn");
    expect(checks.get("host load")?.detail).to.contain("CPU pressure some avg10 41.2%");
    expect(checks.get("steal time")?.status).to.equal("warn");
    expect(checks.get("perf_event_paranoid")?.status).to.equal("warn");
    const rendered = renderDoctor([...checks.values()]);
    for (const line of rendered.split("\n").filter((l) => l.startsWith("warn")))
      expect(line).to.contain(" -- fix: ");
  });

  it("finds nothing to fix on a tuned host", async () => {
    const checks = await checksOf("tuned");
    expect([...checks.values()].filter((c) => c.status !== "ok")).to.deep.equal([]);
    expect(checks.get("cpu governor")?.detail).to.equal(
      "performance on every online CPU (acpi-cpufreq)",
    );
    expect(checks.get("cpu boost")?.detail).to.equal("off (/sys/devices/system/cpu/cpufreq/boost)");
    expect(checks.get("isolated cpus")?.detail).to.match(/^isolcpus 2-3, nohz_full 2-3/);
    expect(checks.get("hugepages")?.detail).to.match(/^2 MiB pages: 1024 reserved, 1024 free/);
  });

  it("says there is nothing to set on a host without cpufreq (this development VM)", async () => {
    const checks = await checksOf("dev-tcg");
    expect(checks.get("cpu governor")).to.deep.equal({
      name: "cpu governor",
      status: "ok",
      detail: "no cpufreq on this host (a VM, or a fixed clock): nothing to set",
    });
    expect(checks.get("cpu boost")?.status).to.equal("ok");
    expect(checks.get("smt")?.detail).to.equal("notsupported, active 0");
    expect(checks.get("ksm")?.detail).to.equal("off (/sys/kernel/mm/ksm/run = 0)");
  });
});
