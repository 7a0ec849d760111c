import { constants } from "node:fs";
import { access, readdir } from "node:fs/promises";
import type { HostAccelFacts } from "../../core/qemu/accelerator.js";

/** Whether /dev/kvm opens and which KVM modules are loaded (what `auto` chooses from). */
export async function readHostAccelFacts(
  devKvm = "/dev/kvm",
  sysModule = "/sys/module",
): Promise<HostAccelFacts> {
  let kvmDevice: HostAccelFacts["kvmDevice"] = "ok";
  try {
    await access(devKvm, constants.F_OK);
    try {
      await access(devKvm, constants.R_OK | constants.W_OK);
    } catch {
      kvmDevice = "no-access";
    }
  } catch {
    kvmDevice = "missing";
  }
  let kvmModules: string[];
  try {
    kvmModules = (await readdir(sysModule))
      .filter((m) => m === "kvm" || m.startsWith("kvm_"))
      .sort();
  } catch {
    kvmModules = [];
  }
  return { kvmDevice, kvmModules };
}
