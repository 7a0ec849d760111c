import { readFile } from "node:fs/promises";
import { expect } from "chai";
import { parseEvents, parsePositiveInt } from "../../src/core/plan/input-checks.js";
import { planFromFlags as fromFlags, type PlanFlagValues } from "../../src/core/plan/plan-flags.js";
import type { Plan } from "../../src/core/plan/plan.js";
import { HANG_TIMEOUT_MS, iterationTimeoutMs } from "../../src/core/plan/plan-defaults.js";
import { parseMetapackageDepends } from "../../src/machine/kernel/debian-kernel.js";
import { locatePayload, payloadCompression } from "../../src/machine/kernel/vmlinux.js";
import { defaultRecipe, recipeHash, mmdebstrapArgs } from "../../src/core/image/image-recipe.js";
import { UsageError } from "../../src/core/errors.js";

const planFromFlags = (flags: PlanFlagValues): Plan => fromFlags(flags, "/work");

const flags: PlanFlagValues = {
  kernel: [],
  size: "256",
  iterations: "10",
  warmup: "0",
  scenario: "page-reporting",
  accel: "auto",
  events: "task-clock",
  features: "5",
  map: [],
  memory: "2048",
  vcpus: "2",
  bootTimeout: "60",
  settle: "3000",
};

describe("run inputs, checked before anything boots", () => {
  it("refuses a size that does not fit in guest memory, naming both fixes", () => {
    expect(() => planFromFlags({ ...flags, size: "4096" }))
      .to.throw(
        UsageError,
        "--size 4096 MiB does not fit in a 2048 MiB guest (384 MiB stay reserved for the kernel and userspace)",
      )
      .with.property("hint", "use --size 1664 or less, or --memory 4480");
  });

  it("refuses --huge with a size that is not whole 2 MiB pages", () => {
    expect(() => planFromFlags({ ...flags, huge: true, size: "255" })).to.throw(
      UsageError,
      "--huge needs a --size that is a multiple of 2 MiB, got 255",
    );
    expect(planFromFlags({ ...flags, huge: true, size: "256" }).workloads[0]?.pages).to.equal(
      "hugetlb",
    );
  });

  it("turns the flags into a one-config, one-workload plan named as before plans existed", () => {
    const plan = planFromFlags({
      ...flags,
      features: "reporting,2",
      scenario: "inflate-deflate:512",
      iterations: "4",
    });
    expect(plan.configs.map((c) => [c.name, c.bits])).to.deep.equal([["bits-2-5", [2, 5]]]);
    expect(plan.workloads).to.deep.equal([
      {
        name: "alloc_once-256M",
        sizeMiB: 256,
        pages: "default",
        balloon: { kind: "inflate-deflate", inflateMiB: 512, timeoutMs: 120_000 },
        kernels: undefined,
        configs: undefined,
      },
    ]);
    expect([plan.rounds, plan.kernels[0]?.kernelPath]).to.deep.equal([4, "debian:amd64"]);
    expect(() => planFromFlags({ ...flags, rounds: "11" })).to.throw(
      UsageError,
      "--rounds (11) exceeds iterations (10)",
    );
    expect(() => planFromFlags({ ...flags, scenario: "inflate" })).to.throw(
      UsageError,
      "--scenario 'inflate' is not a balloon scenario",
    );
  });

  it("derives each iteration's timeout from the workload unless the plan sets it; the hang timeout likewise", () => {
    const plan = planFromFlags({ ...flags, settle: "200", size: "16" });
    expect([plan.iterationTimeoutMs, plan.hangTimeoutMs]).to.deep.equal([undefined, undefined]);
    const workload = plan.workloads[0];
    if (workload === undefined) throw new Error("no workload");
    // 120 s + settle + 100 ms per MiB.
    expect(iterationTimeoutMs(plan, workload)).to.equal(120_000 + 200 + 1_600);
    const inflating = planFromFlags({ ...flags, scenario: "inflate-deflate:512" });
    const moved = inflating.workloads[0];
    if (moved === undefined) throw new Error("no workload");
    expect(iterationTimeoutMs(inflating, moved)).to.equal(120_000 + 3_000 + 25_600 + 240_000);
    const set = planFromFlags({ ...flags, iterationTimeout: "90", hangTimeout: "20" });
    expect([set.iterationTimeoutMs, set.hangTimeoutMs]).to.deep.equal([90_000, 20_000]);
    expect(iterationTimeoutMs(set, workload)).to.equal(90_000);
    expect(HANG_TIMEOUT_MS).to.equal(120_000);
    expect(() => planFromFlags({ ...flags, hangTimeout: "0" })).to.throw(
      UsageError,
      "--hang-timeout must be a whole number >= 1, got '0'",
    );
  });

  it("parses counts and events strictly", () => {
    expect(parsePositiveInt("10", "--iterations")).to.equal(10);
    expect(() => parsePositiveInt("0", "--iterations")).to.throw(
      UsageError,
      "--iterations must be a whole number >= 1, got '0'",
    );
    expect(() => parsePositiveInt("3.5", "--size")).to.throw(UsageError);
    expect(parseEvents("task-clock, instructions:u")).to.deep.equal([
      "task-clock",
      "instructions:u",
    ]);
    expect(() => parseEvents("task-clock;rm -rf /")).to.throw(
      UsageError,
      "is not a perf event name",
    );
  });
});

describe("Debian stock kernel lookup", () => {
  it("finds the image package behind linux-image-amd64 (recorded apt-cache show)", async () => {
    const text = await readFile(
      new URL("../fixtures/kernel/apt-cache-show-linux-image-amd64.txt", import.meta.url),
      "utf8",
    );
    expect(parseMetapackageDepends("amd64", text)).to.deep.equal({
      flavour: "amd64",
      packageName: "linux-image-6.1.0-56-amd64",
      version: "6.1.192-2",
    });
  });
});

describe("PVH payload location", () => {
  it("finds the xz payload of a real Debian bzImage from its header", async () => {
    const head = await readFile(
      new URL("../fixtures/kernel/vmlinuz-6.1.0-56-amd64.head", import.meta.url),
    );
    // The fixture is only the header: locate the payload against the full size the header implies.
    const setup = ((head[0x1f1] ?? 0) + 1) * 512;
    const offset = setup + head.readUInt32LE(0x248);
    const padded = Buffer.concat([
      head,
      Buffer.alloc(offset + head.readUInt32LE(0x24c) - head.length),
    ]);
    expect(locatePayload(padded)).to.deep.equal({ offset, length: head.readUInt32LE(0x24c) });
    expect(payloadCompression(padded.subarray(offset))).to.equal("xz");
  });
});

describe("image recipe", () => {
  const files = {
    "guest-init.sh": "#!/bin/sh\n",
    sshd_config: "Port 22\n",
    fstab: "",
    "dpkg-excludes": "",
  };

  it("hashes the same recipe to the same key and any changed file to another", () => {
    const a = recipeHash(defaultRecipe(files));
    expect(recipeHash(defaultRecipe({ ...files }))).to.equal(a);
    expect(recipeHash(defaultRecipe({ ...files, sshd_config: "Port 2222\n" }))).not.to.equal(a);
  });

  it("builds the mmdebstrap argv without a shell", () => {
    expect(
      mmdebstrapArgs(defaultRecipe(files), "/repo/images/dpkg-excludes", "/cache/rootfs"),
    ).to.deep.equal([
      "--variant=essential",
      "--include=openssh-server,linux-perf,kmod,procps,iproute2,mount",
      "--dpkgopt=/repo/images/dpkg-excludes",
      "--quiet",
      "bookworm",
      "/cache/rootfs",
    ]);
  });
});
