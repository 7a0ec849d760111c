import { expect } from "chai";
import { UsageError } from "../../../src/core/errors.js";
import {
  REQUIRED_OPTIONS,
  checkRequiredOptions,
  defaultConfigArgs,
  describeDefaultRecipe,
  mergeConfigFragment,
  parseKernelConfig,
  requiredOptionsError,
} from "../../../src/core/kernel/kernel-config.js";

/** A final .config with every required option =y, plus extra lines. */
function goodConfig(extra: string[] = []): string {
  return [
    "# Linux/x86 6.1.192 Kernel Configuration",
    ...REQUIRED_OPTIONS.map((o) => `CONFIG_${o.name}=y`),
    ...extra,
    "",
  ].join("\n");
}

function withOption(config: string, name: string, line: string): string {
  return config
    .split("\n")
    .map((l) => (l === `CONFIG_${name}=y` ? line : l))
    .join("\n");
}

describe("kernel config: required options", () => {
  it("names the options the issue lists, and what the guest's init and sshd need", () => {
    const names = REQUIRED_OPTIONS.map((o) => o.name);
    for (const name of [
      "VIRTIO_PCI",
      "VIRTIO_BLK",
      "VIRTIO_NET",
      "VIRTIO_BALLOON",
      "PAGE_REPORTING",
      "TRANSPARENT_HUGEPAGE",
      "HUGETLBFS",
      "PERF_EVENTS",
      "EXT4_FS",
      "PVH",
      "DEVTMPFS",
      "UNIX",
      "BLK_DEV_INITRD",
      "BINFMT_SCRIPT",
      "SERIAL_8250_CONSOLE",
    ])
      expect(names).to.include(name);
    expect(new Set(names).size).to.equal(names.length);
  });

  it("the default recipe enables every required option and switches debug info and absent hardware off", () => {
    const args = defaultConfigArgs();
    for (const o of REQUIRED_OPTIONS) expect(args.join(" ")).to.include(`--enable ${o.name}`);
    expect(args.join(" ")).to.include("--disable DEBUG_INFO ");
    expect(args.join(" ")).to.include("--enable DEBUG_INFO_NONE");
    expect(args.join(" ")).to.include("--disable DRM ");
    // Nothing the tool needs is among the hardware switched off.
    const disabled = new Set(args.filter((_, i) => args[i - 1] === "--disable"));
    for (const o of REQUIRED_OPTIONS) expect(disabled.has(o.name), o.name).to.equal(false);
    expect(describeDefaultRecipe()).to.match(
      /^make defconfig && make kvm_guest.config && scripts\/config .* && make olddefconfig$/,
    );
  });

  it("parses =y, =m, strings and 'is not set'", () => {
    const values = parseKernelConfig(
      'CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D="x y"\n# a comment\n',
    );
    expect([...values]).to.deep.equal([
      ["A", "y"],
      ["B", "m"],
      ["C", "n"],
      ["D", '"x y"'],
    ]);
  });

  it("accepts a complete config, and =m where a module will do", () => {
    expect(checkRequiredOptions(goodConfig())).to.deep.equal([]);
    const modular = withOption(goodConfig(), "VIRTIO_BALLOON", "CONFIG_VIRTIO_BALLOON=m");
    expect(checkRequiredOptions(modular)).to.deep.equal([]);
  });

  it("refuses a module where the option must be built in", () => {
    const config = withOption(goodConfig(), "UNIX", "CONFIG_UNIX=m");
    const problems = checkRequiredOptions(config);
    expect(problems.map((p) => [p.option.name, p.found])).to.deep.equal([["UNIX", "m"]]);
    expect(requiredOptionsError(problems)?.message).to.match(
      /^CONFIG_UNIX=m in the resulting \.config but must be built in \(=y\)/,
    );
  });

  it("names the option and the user's fragment that disables it, in one line", () => {
    const fragment = {
      kind: "fragment" as const,
      label: "no-balloon.config",
      text: "# CONFIG_VIRTIO_BALLOON is not set\n",
    };
    const config = withOption(goodConfig(), "VIRTIO_BALLOON", "# CONFIG_VIRTIO_BALLOON is not set");
    const error = requiredOptionsError(checkRequiredOptions(config, [fragment]));
    expect(error).to.be.instanceOf(UsageError);
    expect(error?.message).to.equal(
      "CONFIG_VIRTIO_BALLOON is not set in the resulting .config (your fragment no-balloon.config disables it); the tool needs it: it is the device under test",
    );
    expect(error?.message).to.not.include("\n");
    expect(error?.hint).to.include("CONFIG_VIRTIO_BALLOON=y (or m)");
  });

  it("blames a --config that does not mention the option, and later fragments that turn it back on win", () => {
    const full = { kind: "config" as const, label: "my.config", text: "CONFIG_PCI=y\n" };
    const config = withOption(goodConfig(), "PAGE_REPORTING", "");
    expect(checkRequiredOptions(config, [full])[0]?.disabledBy?.label).to.equal("my.config");
    const fix = {
      kind: "fragment" as const,
      label: "fix.config",
      text: "CONFIG_PAGE_REPORTING=y\n",
    };
    const problems = checkRequiredOptions(config, [full, fix]);
    expect(problems[0]?.disabledBy).to.equal(undefined);
    expect(requiredOptionsError(problems)?.message).to.include("olddefconfig dropped it");
  });

  it("does not report what follows from a missing option (VIRTIO_BALLOON selects MEMORY_BALLOON, PAGE_REPORTING)", () => {
    let config = withOption(goodConfig(), "VIRTIO_BALLOON", "# CONFIG_VIRTIO_BALLOON is not set");
    config = withOption(config, "MEMORY_BALLOON", "");
    config = withOption(config, "PAGE_REPORTING", "");
    expect(checkRequiredOptions(config).map((p) => p.option.name)).to.deep.equal([
      "VIRTIO_BALLOON",
    ]);
    // Missing on its own, a follower is reported.
    expect(
      checkRequiredOptions(withOption(goodConfig(), "PAGE_REPORTING", "")).map(
        (p) => p.option.name,
      ),
    ).to.deep.equal(["PAGE_REPORTING"]);
  });

  it("lists several missing options in a single line", () => {
    let config = withOption(goodConfig(), "PVH", "# CONFIG_PVH is not set");
    config = withOption(config, "HUGETLBFS", "# CONFIG_HUGETLBFS is not set");
    const error = requiredOptionsError(checkRequiredOptions(config));
    expect(error?.message).to.match(/^2 options the tool needs are missing/);
    expect(error?.message).to.include("CONFIG_PVH").and.include("CONFIG_HUGETLBFS");
    expect(error?.message).to.not.include("\n");
  });
});

describe("kernel config: fragments", () => {
  it("replaces the lines a fragment sets and appends new ones, as merge_config.sh -m does", () => {
    const base = "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=m\n";
    const merged = mergeConfigFragment(
      base,
      'CONFIG_B=y\n# CONFIG_C is not set\nCONFIG_D="x"\n# comment\n',
    );
    expect(merged).to.equal('CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\nCONFIG_D="x"\n');
  });

  it("the last setting of an option in the fragment wins", () => {
    expect(mergeConfigFragment("CONFIG_A=y\n", "CONFIG_A=m\nCONFIG_A=n\n")).to.equal(
      "CONFIG_A=n\n",
    );
  });
});
