import { expect } from "chai";
import {
  parseThpMode,
  renderTuningPlan,
  savedState,
  tuningPlan,
} from "../../../src/core/host/host-tuning.js";
import { readHostState } from "../../../src/machine/host/read-host-state.js";
import { hostTree } from "../../helpers/host-trees.js";

describe("doctor --tune's plan", () => {
  it("sets performance, turbo off and KSM off on a KSM-on powersave host; THP only when asked", async () => {
    const state = await readHostState(hostTree("ksm-powersave"));
    const plan = tuningPlan(state, {});
    expect(plan.changes).to.deep.equal([
      ...[0, 1, 2, 3].map((cpu) => ({
        setting: `governor cpu${cpu}`,
        path: `sys/devices/system/cpu/cpu${cpu}/cpufreq/scaling_governor`,
        from: "powersave",
        to: "performance",
      })),
      {
        setting: "boost",
        path: "sys/devices/system/cpu/intel_pstate/no_turbo",
        from: "0",
        to: "1",
      },
      { setting: "ksm", path: "sys/kernel/mm/ksm/run", from: "1", to: "0" },
    ]);
    expect(plan.notes).to.include(
      "thp: left as it is (always; --thp always|madvise|never sets it)",
    );
    expect(plan.notes.some((n) => n.startsWith("smt: on, left alone"))).to.equal(true);
    const withThp = tuningPlan(state, { thp: "madvise" });
    expect(withThp.changes.at(-1)).to.deep.equal({
      setting: "thp.enabled",
      path: "sys/kernel/mm/transparent_hugepage/enabled",
      from: "always",
      to: "madvise",
    });
    expect(renderTuningPlan(withThp, false).split("\n")[0]).to.equal(
      "would set  governor cpu0: powersave -> performance  (/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor)",
    );
  });

  it("has nothing to change on a tuned host or one without cpufreq", async () => {
    expect(
      tuningPlan(await readHostState(hostTree("tuned")), { thp: "madvise" }).changes,
    ).to.deep.equal([]);
    const dev = tuningPlan(await readHostState(hostTree("dev-tcg")), {});
    expect(dev.changes).to.deep.equal([]);
    expect(dev.notes).to.include("governor: no cpufreq on this host, nothing to set");
    expect(renderTuningPlan(dev, false).split("\n")[0]).to.equal("nothing to change");
  });

  it("keeps the first saved value of a file across two --apply", () => {
    const first = savedState(
      undefined,
      [{ setting: "ksm", path: "k", from: "1", to: "0" }],
      "/",
      "2026-12-01T00:00:00.000Z",
    );
    const second = savedState(
      first,
      [
        { setting: "ksm", path: "k", from: "0", to: "0" },
        { setting: "thp.enabled", path: "t", from: "always", to: "never" },
      ],
      "/",
      "2026-12-02T00:00:00.000Z",
    );
    expect(second).to.deep.equal({
      schema: 1,
      root: "/",
      appliedAt: "2026-12-01T00:00:00.000Z",
      previous: [
        { setting: "ksm", path: "k", value: "1" },
        { setting: "thp.enabled", path: "t", value: "always" },
      ],
    });
  });

  it("refuses an unknown --thp mode", () => {
    expect(() => parseThpMode("sometimes")).to.throw("--thp 'sometimes' is not a THP mode");
  });
});
