import { readFile } from "node:fs/promises";
import { expect } from "chai";
import { launchVm } from "../../src/machine/qemu/qemu-vm.js";

/** The VmFlags of QEMU's mappings of exactly `sizeKiB` (the guest RAM), from /proc/PID/smaps. */
async function ramFlags(pid: number, sizeKiB: number): Promise<string[]> {
  const smaps = await readFile(`/proc/${pid}/smaps`, "utf8");
  const flags: string[] = [];
  let size = 0;
  for (const line of smaps.split("\n")) {
    const sizeMatch = /^Size:\s+(\d+) kB$/.exec(line);
    if (sizeMatch?.[1] !== undefined) size = Number(sizeMatch[1]);
    if (line.startsWith("VmFlags:") && size === sizeKiB) flags.push(line.slice(8).trim());
  }
  return flags;
}

describe("mem-merge under a real QEMU @integration", function () {
  this.timeout(60_000);

  for (const merge of [false, true]) {
    it(`guest RAM is ${merge ? "" : "not "}MADV_MERGEABLE (KSM's 'mg' flag) with merge ${merge ? "on" : "off"}`, async () => {
      await using vm = await launchVm({
        qemuPath: "qemu-system-x86_64",
        captureConsole: false,
        config: {
          machine: "q35",
          memory: { merge, backing: "anonymous" },
          accelerator: "tcg",
          cpu: "max",
          memoryMiB: 192,
          vcpus: 1,
          drives: [],
          paused: true,
        },
      });
      expect(vm.command).to.include(`q35,mem-merge=${merge ? "on" : "off"},memory-backend=mem0`);
      const [flags] = await ramFlags(vm.pid, 192 * 1024);
      expect(flags, "no 192 MiB mapping").to.be.a("string");
      expect(flags?.split(" ").includes("mg")).to.equal(merge);
    });
  }
});
