import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { parse, stringify } from "yaml";
import { parsePlanText } from "../../src/core/plan/plan-text.js";
import {
  buildPlan,
  parseConfigArg,
  parseKernelArg,
  PlanInputError,
} from "../../scripts/ci-plan.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("scripts/ci-plan.ts: the plan CI workflows write from their inputs", () => {
  it("parses each kernel spec form, with modules= and cmdline= (which takes the rest)", () => {
    expect(parseKernelArg("baseline=debian:amd64")).to.deep.equal({
      name: "baseline",
      source: { kind: "debian", flavour: "amd64" },
    });
    expect(parseKernelArg("candidate=builtin")).to.deep.equal({
      name: "candidate",
      source: { kind: "builtin" },
    });
    expect(parseKernelArg("candidate=artifact:kernel-6.18-rc1,cmdline=quiet a=b,c")).to.deep.equal({
      name: "candidate",
      source: { kind: "artifact", artifact: "kernel-6.18-rc1" },
      cmdline: "quiet a=b,c",
    });
    expect(
      parseKernelArg("c=/srv/k/bzImage,modules=/srv/k/mods,cmdline=init_on_alloc=0"),
    ).to.deep.equal({
      name: "c",
      source: { kind: "path", path: "/srv/k/bzImage" },
      modules: "/srv/k/mods",
      cmdline: "init_on_alloc=0",
    });
  });

  it("refuses malformed kernel specs, names and artifact names", () => {
    for (const bad of [
      "debian:amd64",
      "=x",
      "Base line=x",
      "b=",
      "b=artifact:../etc",
      "b=debian:",
    ]) {
      expect(() => parseKernelArg(bad), bad).to.throw(PlanInputError);
    }
  });

  it("parses NAME=BITS configs", () => {
    expect(parseConfigArg("init-reported=5, 6")).to.deep.equal({
      name: "init-reported",
      bits: [5, 6],
    });
    for (const bad of ["5,6", "x=", "x=5;rm", "x=64"]) {
      expect(() => parseConfigArg(bad), bad).to.throw(PlanInputError);
    }
  });

  it("applies overrides to plans/nightly.yaml and keeps every other field", async () => {
    const template: unknown = parse(await readFile(`${root}/plans/nightly.yaml`, "utf8"));
    const kernels = [
      { name: "baseline", path: "debian:amd64" },
      { name: "candidate", path: "/var/tmp/k/bzImage", modules: "/var/tmp/k/modules" },
    ];
    const plan = buildPlan(template, {
      kernels,
      iterations: 3,
      accelerator: "kvm",
      config: { name: "init-reported", bits: [5, 6] },
      workload: "hugetlb-256",
      events: ["task-clock"],
    });
    expect(plan).to.deep.equal({
      ...(template as object),
      iterations: 3,
      rounds: 3,
      accelerator: "kvm",
      events: ["task-clock"],
      kernels,
      configs: [{ name: "init-reported", bits: [5, 6] }],
      workloads: [{ name: "hugetlb-256", size: 256, pages: "hugetlb", balloon: "page-reporting" }],
    });
    expect(plan["rounds"]).to.equal(3);
    // run --plan accepts what it writes.
    const parsed = parsePlanText(stringify(plan), "plan.yaml", "/var/tmp");
    expect([parsed.kernels.length, parsed.configs.length, parsed.workloads.length]).to.deep.equal([
      2, 1, 1,
    ]);
    // The template itself is untouched.
    expect((template as { configs: unknown[] }).configs).to.have.length(4);
  });

  it("refuses overrides that do not fit", async () => {
    const template: unknown = parse(await readFile(`${root}/plans/nightly.yaml`, "utf8"));
    const kernels = [{ name: "k", path: "debian:amd64" }];
    expect(() => buildPlan(template, { kernels, workload: "nope" })).to.throw(
      /workload 'nope' is not in the template \(it has: thp-256, hugetlb-256, deflated-256\)/,
    );
    expect(() => buildPlan(template, { kernels, accelerator: "hvf" })).to.throw(PlanInputError);
    expect(() => buildPlan(template, { kernels, iterations: 0 })).to.throw(PlanInputError);
    expect(() => buildPlan(template, { kernels, events: ["task-clock;id"] })).to.throw(
      PlanInputError,
    );
    expect(() => buildPlan(template, { kernels: [] })).to.throw(PlanInputError);
    expect(() => buildPlan([], { kernels })).to.throw(PlanInputError);
  });
});
