import { expect } from "chai";
import { UsageError } from "../../../src/core/errors.js";
import { planFromFlags, type PlanFlagValues } from "../../../src/core/plan/plan-flags.js";
import {
  parseConfigFlag,
  validationPlanFile,
  vmstatFieldsToCompare,
} from "../../../src/core/plan/validation-plan.js";

const FLAGS: PlanFlagValues = {
  kernel: [],
  size: "64",
  iterations: "4",
  warmup: "0",
  scenario: "page-reporting",
  accel: "tcg",
  events: "task-clock",
  features: "5",
  map: [],
  memory: "1024",
  vcpus: "1",
  bootTimeout: "120",
  settle: "200",
};

const REQUEST = {
  tree: "/src/linux",
  base: "v6.1",
  patches: ["/s/series.mbox"],
  fragments: [],
  configs: [],
};

describe("validate's plan: baseline and patched from one tree", () => {
  it("builds the tree at --base, and at --base with the series, in the flags' one config", () => {
    const plan = planFromFlags(FLAGS, "/work", (f) => validationPlanFile(f, REQUEST));
    expect(plan.kernels.map((k) => [k.name, k.build])).to.deep.equal([
      [
        "baseline",
        { tree: "/src/linux", ref: "v6.1", patches: [], config: undefined, fragments: [] },
      ],
      [
        "patched",
        {
          tree: "/src/linux",
          ref: "v6.1",
          patches: ["/s/series.mbox"],
          config: undefined,
          fragments: [],
        },
      ],
    ]);
    expect(plan.configs.map((c) => c.name)).to.deep.equal(["bits-5"]);
    expect(plan.iterations).to.equal(4);
  });

  it("runs both kernels in each --config NAME=BITS, names kept", () => {
    const plan = planFromFlags(FLAGS, "/work", (f) =>
      validationPlanFile(f, { ...REQUEST, configs: ["reporting=5", "none=1"] }),
    );
    expect(plan.configs.map((c) => [c.name, c.bits])).to.deep.equal([
      ["reporting", [5]],
      ["none", [1]],
    ]);
  });

  it("refuses a missing series and a malformed --config", () => {
    expect(() => validationPlanFile({}, { ...REQUEST, patches: [] })).to.throw(
      UsageError,
      "validate needs the series to validate",
    );
    expect(() => parseConfigFlag("5,6")).to.throw(UsageError, "malformed --config '5,6'");
  });

  it("compares the vmstat fields a gate names", () => {
    expect(vmstatFieldsToCompare(["vmstat.pgfault:50", "task-clock:5"], "pgfree")).to.deep.equal([
      "pgfault",
      "pgfree",
    ]);
  });
});
