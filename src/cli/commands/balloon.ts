import { UsageError } from "../../core/errors.js";
import { parsePositiveInt } from "../../core/plan/input-checks.js";
import { DEFAULT_VM_NAME, parseVmName } from "../../live/live-paths.js";
import { openLiveVm, withLiveQmp, type LiveVm } from "../../live/live-vm.js";
import {
  MiB,
  moveBalloon,
  parseSizeBytes,
  queryBalloonActualBytes,
  readGuestMemoryStats,
  readRssBytes,
  setGuestStatsPolling,
  waitForGuestMemoryStats,
} from "../../machine/balloon/balloon-control.js";
import type { CliIo } from "../io.js";

const ACTIONS = new Set(["set", "status", "stats"]);
const USAGE = "balloon-bench balloon [NAME] set SIZE | status | stats";

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(bytes % MiB === 0 ? 0 : 1)} MiB`;
}

/** [NAME] ACTION [SIZE]: the name is optional, so the words are read by what they are. */
function parseWords(words: readonly string[]): { name: string; action: string; rest: string[] } {
  const named = words[0] !== undefined && !ACTIONS.has(words[0]);
  const name = named ? (words[0] ?? DEFAULT_VM_NAME) : DEFAULT_VM_NAME;
  const [action, ...rest] = named ? words.slice(1) : words;
  if (action === undefined || !ACTIONS.has(action)) {
    throw new UsageError(
      action === undefined
        ? `balloon needs an action after ${named ? `the VM name ${name}` : "it"}: set SIZE, status or stats`
        : `unknown balloon action '${action}'`,
      { hint: USAGE },
    );
  }
  if ((action === "set" ? 1 : 0) !== rest.length) {
    throw new UsageError(
      `balloon ${action} takes ${action === "set" ? "one SIZE" : "no"} argument`,
      {
        hint: USAGE,
      },
    );
  }
  return { name: parseVmName(name), action, rest };
}

async function setBalloon(
  vm: LiveVm,
  sizeText: string,
  timeoutS: string,
  io: CliIo,
): Promise<void> {
  const target = parseSizeBytes(sizeText);
  if (target === undefined || target <= 0) {
    throw new UsageError(`'${sizeText}' is not a memory size`, {
      hint: "give the guest's target memory size, e.g. 768 (MiB), 768M or 1.5G",
    });
  }
  if (target > vm.state.memoryMiB * MiB) {
    throw new UsageError(
      `${mib(target)} is more than VM ${vm.name}'s ${vm.state.memoryMiB} MiB of memory`,
      {
        hint: `the balloon can give back at most what it took: use ${vm.state.memoryMiB} or less`,
      },
    );
  }
  const timeoutMs = parsePositiveInt(timeoutS, "--timeout", 1, 120) * 1000;
  const move = await withLiveQmp(vm, (qmp) =>
    moveBalloon(qmp, target, {
      timeoutMs,
      onProgress: (actual) => io.stderr(`balloon: actual ${mib(actual)} (target ${mib(target)})\n`),
    }),
  );
  io.stdout(
    `balloon: reached ${mib(move.actualBytes)} (from ${mib(move.fromBytes)}) in ${(move.durationMs / 1000).toFixed(1)} s\n`,
  );
}

async function balloonStatus(vm: LiveVm, io: CliIo): Promise<void> {
  const actual = await withLiveQmp(vm, queryBalloonActualBytes);
  const pid = vm.state.qemu?.pid;
  const rss = pid === undefined ? undefined : await readRssBytes(pid).catch(() => undefined);
  io.stdout(
    `actual: ${mib(actual)} of ${vm.state.memoryMiB} MiB (balloon holds ${mib(vm.state.memoryMiB * MiB - actual)})` +
      `${rss === undefined ? "" : `; QEMU RSS on the host: ${mib(rss)}`}\n`,
  );
}

async function balloonStats(vm: LiveVm, io: CliIo): Promise<void> {
  const stats = await withLiveQmp(vm, async (qmp) => {
    const before = await readGuestMemoryStats(qmp);
    // Polling is off until someone asks; ask every 2 s and wait for a fresh report.
    await setGuestStatsPolling(qmp, 2);
    return waitForGuestMemoryStats(qmp, { timeoutMs: 15_000, sinceS: before.lastUpdate });
  });
  const lines = [
    `guest memory statistics (virtio-balloon stats, updated ${new Date(stats.lastUpdate * 1000).toISOString()}):`,
  ];
  for (const [key, value] of Object.entries(stats.stats)) {
    const bytes = /memory|caches|swap-in|swap-out/.test(key);
    lines.push(`  ${key.padEnd(18)} ${bytes ? mib(value) : String(value)}`);
  }
  io.stdout(`${lines.join("\n")}\n`);
}

/** `balloon-bench balloon [NAME] set SIZE | status | stats`. */
export async function balloonCommand(
  words: readonly string[],
  options: { timeout: string },
  io: CliIo,
): Promise<void> {
  const { name, action, rest } = parseWords(words);
  const vm = await openLiveVm(name);
  if (action === "set") return setBalloon(vm, rest[0] ?? "", options.timeout, io);
  if (action === "status") return balloonStatus(vm, io);
  return balloonStats(vm, io);
}
