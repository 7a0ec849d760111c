import { parseVmName } from "../../live/live-paths.js";
import { openLiveVm, withLiveQmp, withLiveSsh } from "../../live/live-vm.js";
import { readLiveFeatures, renderLiveFeatures } from "../../live/vm-features.js";
import type { CliIo } from "../io.js";

/** `balloon-bench features [NAME]`: requested, offered and negotiated balloon bits of a live VM. */
export async function featuresCommand(
  name: string,
  options: { json?: boolean },
  io: CliIo,
): Promise<void> {
  const vm = await openLiveVm(parseVmName(name));
  const features = await withLiveSsh(vm, (ssh) =>
    withLiveQmp(vm, (qmp) => readLiveFeatures(qmp, ssh, vm.state.requestedBits)),
  );
  io.stdout(
    options.json === true
      ? `${JSON.stringify(features, null, 2)}\n`
      : `${renderLiveFeatures(vm.name, features)}\n`,
  );
}
