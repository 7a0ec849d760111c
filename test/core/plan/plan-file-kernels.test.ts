import { expect } from "chai";
import { UsageError } from "../../../src/core/errors.js";
import { parsePlanText } from "../../../src/core/plan/plan-text.js";
import { planHash, planRecord } from "../../../src/core/plan/plan.js";

const parse = (text: string) => parsePlanText(text, "/plans/p.yaml", "/plans");

function errorOf(text: string): string {
  try {
    parse(text);
  } catch (error) {
    expect(error).to.be.instanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("expected the plan to be refused");
}

describe("plan kernels built from a source tree", () => {
  it("takes { name, tree, ref, patches, config, fragments }, paths relative to the plan", () => {
    const plan = parse(`kernels:
  - { name: base, tree: ../linux, ref: v6.1 }
  - name: patched
    tree: /src/linux
    ref: v6.1
    patches: series/thp.mbox
    config: guest.config
    fragments: [a.config, /f/b.config]
    cmdline: quiet
`);
    expect(plan.kernels).to.deep.equal([
      {
        name: "base",
        kernelPath: "build:/linux",
        cmdline: [],
        build: { tree: "/linux", ref: "v6.1", patches: [], config: undefined, fragments: [] },
      },
      {
        name: "patched",
        kernelPath: "build:/src/linux",
        cmdline: ["quiet"],
        build: {
          tree: "/src/linux",
          ref: "v6.1",
          patches: ["/plans/series/thp.mbox"],
          config: "/plans/guest.config",
          fragments: ["/plans/a.config", "/f/b.config"],
        },
      },
    ]);
  });

  it("records the build inputs in the plan (and its hash) only for built kernels", () => {
    const built = parse("kernels: [{ name: k, tree: /src/linux, patches: [/s/a.mbox] }]\n");
    const record = planRecord(built).kernels as Record<string, unknown>[];
    expect(record[0]?.["build"]).to.deep.equal({
      tree: "/src/linux",
      ref: null,
      patches: ["/s/a.mbox"],
      config: null,
      fragments: [],
    });
    const image = parse("kernels: [{ name: k, path: /k/bzImage }]\n");
    expect(planRecord(image).kernels).to.deep.equal([
      { name: "k", path: "/k/bzImage", modules: null, cmdline: [] },
    ]);
    const other = parse("kernels: [{ name: k, tree: /src/linux, patches: [/s/b.mbox] }]\n");
    expect(planHash(other)).to.not.equal(planHash(built));
  });

  it("refuses path and tree together, neither, build fields on an image, modules on a build", () => {
    expect(errorOf("kernels: [{ name: k, path: /b, tree: /t }]\n")).to.include(
      "kernel k needs exactly one of path (a built image) and tree (a source to build)",
    );
    expect(errorOf("kernels: [{ name: k }]\n")).to.include("needs exactly one of path");
    expect(errorOf("kernels: [{ name: k, path: /b, ref: v6.1 }]\n")).to.include(
      "kernel k: ref applies only to a kernel built from a tree",
    );
    expect(errorOf("kernels: [{ name: k, tree: /t, modules: /m }]\n")).to.include(
      "kernel k is built from a tree, which brings its own modules",
    );
  });
});
