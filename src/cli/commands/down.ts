import { parsePositiveInt } from "../../core/plan/input-checks.js";
import { parseVmName } from "../../live/live-paths.js";
import { downVm } from "../../live/vm-down.js";
import type { CliIo } from "../io.js";

/** `balloon-bench down [NAME]`: quit, then SIGTERM, then SIGKILL; twice is harmless. */
export async function downCommand(
  name: string,
  options: { quitTimeout: string },
  io: CliIo,
): Promise<void> {
  const result = await downVm(parseVmName(name), {
    quitTimeoutMs: parsePositiveInt(options.quitTimeout, "--quit-timeout", 1, 10) * 1000,
  });
  if (result.outcome === "absent") io.stdout(`no VM named ${name}; nothing to stop\n`);
  else if (result.outcome === "stale")
    io.stdout(`VM ${name} was not running (its QEMU had exited); removed its stale state\n`);
  else io.stdout(`stopped VM ${name} (QEMU pid ${result.pid}, by ${result.method})\n`);
}
