import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { InterruptedError, UsageError } from "../../src/core/errors.js";
import { parsePlanText } from "../../src/core/plan/plan-text.js";
import type { Plan } from "../../src/core/plan/plan.js";
import type { RunManifest } from "../../src/core/results-format/manifest.js";
import { runExperiment, type ExperimentRequest } from "../../src/experiment/run-experiment.js";
import { ResultsDir } from "../../src/experiment/results-dir.js";
import type { RunReporter } from "../../src/experiment/run-reporter.js";
import { FakeMachine } from "../helpers/fake-machine.js";

const PLAN = `seed: 7
iterations: 2
rounds: 2
vm: { memoryMiB: 1024, vcpus: 1 }
events: [task-clock]
kernels:
  - { name: a, path: "debian:amd64" }
  - { name: b, path: "debian:amd64" }
configs:
  - { name: reporting, bits: [5] }
  - { name: reported, bits: [5, 6] }
workloads:
  - { name: small, size: 16 }
`;

const quiet: RunReporter = {
  log: () => undefined,
  start: () => undefined,
  cell: () => undefined,
  iteration: () => undefined,
  stop: () => undefined,
};

/** The plan without the bit-6 config, which QEMU 7.2 cannot offer. */
const RUNNABLE = PLAN.replace("  - { name: reported, bits: [5, 6] }\n", "");

function plan(text = PLAN): Plan {
  return parsePlanText(text, "/plans/p.yaml", "/plans");
}

/** The engine's own logic (order, resume, failure policy, interrupts) against a fake machine. */
describe("the experiment engine, without QEMU", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "bb-engine-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const request = (out: string, extra: Partial<ExperimentRequest> = {}): ExperimentRequest => ({
    plan: plan(RUNNABLE),
    out: join(dir, out),
    skipUnsupported: false,
    command: ["run"],
    ...extra,
  });

  const manifestOf = async (out: string): Promise<RunManifest> => {
    const manifest = await (await ResultsDir.open(join(dir, out))).readManifest();
    if (manifest.kind !== "run") throw new Error("not a run manifest");
    return manifest;
  };

  it("runs every boot of the seeded schedule once and records every iteration", async () => {
    const machine = new FakeMachine();
    const result = await runExperiment(request("r"), quiet, machine);
    expect(result.failed).to.deep.equal([]);
    const manifest = await manifestOf("r");
    expect(machine.booted).to.deep.equal(manifest.schedule.bootOrder);
    expect(manifest.boots.map((b) => b.status)).to.deep.equal([
      "complete",
      "complete",
      "complete",
      "complete",
    ]);
    expect(manifest.cells.map((c) => c.status)).to.deep.equal(["complete", "complete"]);
    const samples = await (
      await ResultsDir.open(join(dir, "r"))
    ).readSamples("a__reporting__small");
    expect(samples.map((s) => [s.round, s.iteration, s.boot])).to.deep.equal([
      [1, 1, "a__reporting__r1"],
      [2, 2, "a__reporting__r2"],
    ]);
  });

  it("resumes: iterations on disk are not redone, the rest run in the recorded order", async () => {
    const interrupted = new AbortController();
    // The third iteration is interrupted (as SIGINT would) while its SSH session drops.
    const stop = new FakeMachine({
      onIteration: (n) => n === 3 && interrupted.abort(),
      failIteration: 3,
    });
    const error = await runExperiment(
      request("r", { signal: interrupted.signal }),
      quiet,
      stop,
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InterruptedError);
    const machine = new FakeMachine();
    const result = await runExperiment(request("r"), quiet, machine);
    expect(result.resumedIterations).to.equal(2);
    expect(machine.iterations).to.equal(2);
    const manifest = await manifestOf("r");
    expect(manifest.runs.map((r) => r.resumedIterations)).to.deep.equal([0, 2]);
    expect(manifest.cells.map((c) => c.status)).to.deep.equal(["complete", "complete"]);
    for (const id of ["a__reporting__small", "b__reporting__small"]) {
      const samples = await (await ResultsDir.open(join(dir, "r"))).readSamples(id);
      expect(samples.map((s) => s.iteration)).to.deep.equal([1, 2]);
    }
  });

  it("records an interrupt mid-boot as such: the boot interrupted, its cells pending, nothing running", async () => {
    const controller = new AbortController();
    const machine = new FakeMachine({
      onIteration: (n) => n === 2 && controller.abort(),
      failIteration: 2,
    });
    const error = await runExperiment(
      request("r", { signal: controller.signal }),
      quiet,
      machine,
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InterruptedError);
    const manifest = await manifestOf("r");
    expect(manifest.boots.map((b) => b.status)).to.deep.equal(["complete", "interrupted"]);
    expect(manifest.boots[1]?.endedAt).to.be.a("string");
    expect(manifest.cells.map((c) => c.status)).to.deep.equal(["pending", "pending"]);
  });

  it("refuses to resume with a changed plan, naming the first difference", async () => {
    await runExperiment(request("r"), quiet, new FakeMachine());
    const changed = request("r", {
      plan: plan(RUNNABLE.replace("iterations: 2", "iterations: 3")),
    });
    await runExperiment(changed, quiet, new FakeMachine()).then(
      () => expect.fail("resumed a different plan"),
      (error: unknown) => {
        expect(error).to.be.instanceOf(UsageError);
        expect((error as Error).message).to.equal(
          `${join(dir, "r")} was written by a different plan (iterations: 2 vs 3)`,
        );
      },
    );
  });

  it("fails the cells of a VM that fails, goes on with the others, and lists them", async () => {
    // Boot 1 of the schedule fails: its kernel × config is failed for the rest of the run.
    const machine = new FakeMachine({ failBoot: 1 });
    const result = await runExperiment(request("r"), quiet, machine);
    const manifest = await manifestOf("r");
    const failedKernel = manifest.schedule.bootOrder[0]?.toString().split("__")[0];
    expect(result.failed.map((f) => f.cell)).to.deep.equal([`${failedKernel}__reporting__small`]);
    expect(result.failed[0]?.reason).to.contain("fake boot 1");
    // Its second round is skipped; the other kernel's two boots run.
    expect(machine.boots).to.equal(3);
    expect(manifest.cells.map((c) => [c.kernelName, c.status]).sort()).to.deep.equal(
      [
        [failedKernel, "failed"],
        [failedKernel === "a" ? "b" : "a", "complete"],
      ].sort(),
    );
    expect(manifest.boots.find((b) => b.status === "failed")?.error).to.contain("fake boot 1");
  });

  it("refuses a bit this QEMU cannot offer before anything is written, or skips its config", async () => {
    const refused = request("refused", { plan: plan() });
    const error = await runExperiment(refused, quiet, new FakeMachine()).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(UsageError);
    expect((error as Error).message).to.match(
      /^config reported: bit 6 .* needs virtio-balloon-pci property 'x-device-init-reported'/,
    );
    expect(
      await readFile(join(dir, "refused", "manifest.json"), "utf8").catch(() => "absent"),
    ).to.equal("absent");

    const machine = new FakeMachine();
    const result = await runExperiment(
      request("skipped", { plan: plan(), skipUnsupported: true }),
      quiet,
      machine,
    );
    expect(result.skipped.map((s) => s.config)).to.deep.equal(["reported"]);
    expect(result.cells.map((c) => c.id)).to.deep.equal([
      "a__reporting__small",
      "b__reporting__small",
    ]);
    expect((await manifestOf("skipped")).skipped.map((s) => s.config)).to.deep.equal(["reported"]);
  });
});
