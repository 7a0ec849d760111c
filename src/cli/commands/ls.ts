import { listLiveVms, renderVmList } from "../../live/vm-list.js";
import type { CliIo } from "../io.js";

/** `balloon-bench ls`: live VMs; the state of VMs whose QEMU exited is removed (and named). */
export async function lsCommand(options: { json?: boolean }, io: CliIo): Promise<void> {
  const { live, removedStale, damaged } = await listLiveVms();
  for (const name of removedStale)
    io.stderr(`removed the stale state of VM ${name} (its QEMU had exited)\n`);
  for (const d of damaged)
    io.stderr(
      `VM ${d.name}: its state is damaged (${d.problem}) and its QEMU (pid ${d.pid}) still runs; \`balloon-bench down ${d.name}\` stops it\n`,
    );
  if (options.json === true) {
    io.stdout(`${JSON.stringify(live, null, 2)}\n`);
    return;
  }
  io.stdout(live.length === 0 ? "no live VMs\n" : `${renderVmList(live)}\n`);
}
