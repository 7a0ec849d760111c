import { UsageError } from "../../core/errors.js";
import { DEFAULT_VM_NAME, parseVmName } from "../../live/live-paths.js";
import { connectLiveQmp, explainFailure, openLiveVm, withLiveQmp } from "../../live/live-vm.js";
import { QmpDisconnectedError } from "../../machine/qmp/qmp-errors.js";
import type { CliIo } from "../io.js";

const USAGE =
  "balloon-bench qmp [NAME] COMMAND ['{\"arg\": 1}'] or balloon-bench qmp [NAME] --events";

/** [NAME] COMMAND [JSON]: the name is optional; a second word starting with '{' is the arguments. */
function parseWords(words: readonly string[]): {
  name: string;
  command: string;
  argsText?: string;
} {
  let name = DEFAULT_VM_NAME;
  let command: string | undefined;
  let argsText: string | undefined;
  if (words.length === 1) [command] = words;
  else if (words.length === 2 && words[1]?.trimStart().startsWith("{") === true)
    [command, argsText] = words;
  else if (words.length === 2) [name = DEFAULT_VM_NAME, command] = words;
  else if (words.length === 3) [name = DEFAULT_VM_NAME, command, argsText] = words;
  if (command === undefined) throw new UsageError("qmp needs a command", { hint: USAGE });
  return { name, command, ...(argsText === undefined ? {} : { argsText }) };
}

function parseArgs(argsText: string | undefined): Record<string, unknown> | undefined {
  if (argsText === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(argsText);
  } catch (error) {
    throw new UsageError(`QMP arguments are not valid JSON: ${(error as Error).message}`, {
      hint: `quote a JSON object, e.g. balloon-bench qmp balloon '{"value": 805306368}'`,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError("QMP arguments must be a JSON object", { hint: USAGE });
  }
  return parsed as Record<string, unknown>;
}

/** Follows QMP events on the VM's second monitor until it closes (or Ctrl-C). */
async function followEvents(words: readonly string[], io: CliIo): Promise<void> {
  if (words.length > 1) throw new UsageError("qmp --events takes only a VM name", { hint: USAGE });
  const vm = await openLiveVm(parseVmName(words[0] ?? DEFAULT_VM_NAME));
  await using qmp = await connectLiveQmp(vm, { events: true });
  io.stderr(`following QMP events of VM ${vm.name} (Ctrl-C to stop)\n`);
  qmp.onEvent((event) => io.stdout(`${JSON.stringify(event)}\n`));
  await qmp.closed;
  // The monitor closes when QEMU goes away (then the state is cleaned and that is said).
  await explainFailure(
    vm,
    new QmpDisconnectedError(`VM ${vm.name} closed its QMP events monitor`, {
      hint: `check it with \`balloon-bench ls\`; its QEMU log is ${vm.state.stderrLog}`,
    }),
  );
}

/** `balloon-bench qmp [NAME] COMMAND [JSON]`, or `--events`. */
export async function qmpCommand(
  words: readonly string[],
  options: { events?: boolean },
  io: CliIo,
): Promise<void> {
  if (options.events === true) return followEvents(words, io);
  const { name, command, argsText } = parseWords(words);
  const args = parseArgs(argsText);
  const vm = await openLiveVm(parseVmName(name));
  const reply = await withLiveQmp(vm, (qmp) => qmp.execute(command, args, { timeoutMs: 60_000 }));
  io.stdout(`${JSON.stringify(reply, null, 2)}\n`);
}
