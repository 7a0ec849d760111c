import { constants } from "node:os";
import { join } from "node:path";
import {
  MiB,
  moveBalloon,
  parseSizeBytes,
  queryBalloonActualBytes,
  readGuestMemoryStats,
  readRssBytes,
  setGuestStatsPolling,
  waitForGuestMemoryStats,
} from "../machine/balloon/balloon-control.js";
import { parseFeatureList } from "../core/balloon/feature-bits.js";
import { parsePropertyMapOverrides } from "../core/balloon/property-map.js";
import { GUEST_RESERVE_MIB, parsePositiveInt } from "../core/plan/input-checks.js";
import { UsageError } from "../core/errors.js";
import type { CommandExit } from "../machine/guest/guest-ssh.js";
import { profileAllocOnce } from "../live/guest-profile.js";
import { runInteractiveShell } from "../live/interactive-shell.js";
import {
  connectLiveQmp,
  connectLiveSsh,
  explainFailure,
  openLiveVm,
  withLiveVm,
  type LiveVm,
} from "../live/live-vm.js";
import { readLiveFeatures, renderLiveFeatures } from "../live/vm-features.js";
import { parseKernelSpec } from "../core/plan/kernel-spec.js";
import { DEFAULT_VM_NAME, parseVmName } from "../live/live-paths.js";
import { downVm } from "../live/vm-down.js";
import { listLiveVms, renderVmList } from "../live/vm-list.js";
import { upVm, type UpOptions } from "../live/vm-up.js";
import { loadPlanFile } from "../core/plan/plan-file.js";
import { parseAcceleratorRequest } from "../core/qemu/accelerator.js";
import type { QmpClient } from "../machine/qmp/qmp-client.js";
import { QmpDisconnectedError } from "../machine/qmp/qmp-errors.js";
import { cacheDir } from "../util/paths.js";
import { buildAllocOnce } from "../machine/workload/alloc-once.js";
import type { CliIo } from "./program.js";
import type { ProfileCliOptions, UpCliOptions } from "./vm-commands.js";

/** A plan's feature config (and kernel) for `up --plan FILE --config NAME`, as `run` would boot it. */
async function upFromPlan(
  options: UpCliOptions,
  explicit: readonly string[],
): Promise<Pick<UpOptions, "kernels" | "features" | "propertyMap" | "deviceProperties">> {
  const clash = ["kernel", "features", "map"].find((f) => explicit.includes(f));
  if (clash !== undefined) {
    throw new UsageError(`--${clash} cannot be combined with --plan (the plan defines it)`, {
      hint: "drop it, or drop --plan",
    });
  }
  const { plan } = await loadPlanFile(options.plan ?? "");
  const pick = <T extends { name: string }>(
    items: readonly T[],
    wanted: string | undefined,
    what: string,
    flag: string,
  ): T => {
    const found =
      wanted === undefined
        ? items.length === 1
          ? items[0]
          : undefined
        : items.find((i) => i.name === wanted);
    if (found === undefined) {
      throw new UsageError(
        wanted === undefined
          ? `the plan has ${items.length} ${what}s; say which`
          : `the plan has no ${what} '${wanted}'`,
        { hint: `pass ${flag} with one of: ${items.map((i) => i.name).join(", ")}` },
      );
    }
    return found;
  };
  const config = pick(plan.configs, options.config, "config", "--config");
  const kernel = pick(plan.kernels, options.planKernel, "kernel", "--plan-kernel");
  return {
    kernels: [kernel],
    features: config.bits,
    propertyMap: config.propertyMap,
    deviceProperties: config.deviceProperties,
  };
}

export async function upCommand(
  options: UpCliOptions,
  explicit: readonly string[],
  io: CliIo,
): Promise<void> {
  if (
    options.plan === undefined &&
    (options.config !== undefined || options.planKernel !== undefined)
  ) {
    throw new UsageError("--config and --plan-kernel pick from a plan", {
      hint: "add --plan FILE",
    });
  }
  const propertyMap = parsePropertyMapOverrides(options.map);
  const machine =
    options.plan !== undefined
      ? await upFromPlan(options, explicit)
      : {
          kernels: options.kernel.map(parseKernelSpec),
          features: parseFeatureList(options.features, propertyMap),
          propertyMap,
        };
  const started = Date.now();
  const { state, dir } = await upVm(
    {
      name: parseVmName(options.name),
      ...machine,
      accel: parseAcceleratorRequest(options.accel),
      qemu: options.qemu,
      memoryMiB: parsePositiveInt(options.memory, "--memory", 64),
      vcpus: parsePositiveInt(options.vcpus, "--vcpus"),
      bootTimeoutMs: parsePositiveInt(options.bootTimeout, "--boot-timeout") * 1000,
    },
    (line) => io.stderr(`${line}\n`),
  );
  const name = state.name;
  const nameArg = name === "default" ? "" : ` ${name}`;
  io.stdout(
    [
      `VM ${name} is up: QEMU pid ${state.qemu?.pid ?? "?"}, ${state.accelerator}, ${state.memoryMiB} MiB, ${state.vcpus} vCPUs, kernel ${state.kernel.name} (${state.kernel.release}), balloon bits requested: ${state.requestedBits.join(", ") || "none"}`,
      `  SSH answered ${((state.bootToSshMs ?? 0) / 1000).toFixed(1)} s after QEMU started (up took ${((Date.now() - started) / 1000).toFixed(1)} s)`,
      `  shell:    balloon-bench shell${nameArg}`,
      `  exec:     balloon-bench exec${nameArg} -- uname -r`,
      `  balloon:  balloon-bench balloon${nameArg} status | set SIZE | stats`,
      `  qmp:      balloon-bench qmp${nameArg} query-status   (socket ${state.qmpSocket})`,
      `  profile:  balloon-bench profile${nameArg} --size 256`,
      `  ssh:      ssh -i ${state.clientKeyPath} -p ${state.sshPort ?? "?"} -o UserKnownHostsFile=${state.knownHostsPath ?? ""} -o StrictHostKeyChecking=yes root@127.0.0.1`,
      `  stop:     balloon-bench down${nameArg}`,
      `  state:    ${dir}`,
      "",
    ].join("\n"),
  );
}

export async function downCommand(
  name: string,
  options: { quitTimeout: string },
  io: CliIo,
): Promise<void> {
  const result = await downVm(parseVmName(name), {
    quitTimeoutMs: parsePositiveInt(options.quitTimeout, "--quit-timeout") * 1000,
  });
  if (result.outcome === "absent") io.stdout(`no VM named ${name}; nothing to stop\n`);
  else if (result.outcome === "stale")
    io.stdout(`VM ${name} was not running (its QEMU had exited); removed its stale state\n`);
  else io.stdout(`stopped VM ${name} (QEMU pid ${result.pid}, by ${result.method})\n`);
}

export async function lsCommand(options: { json?: boolean }, io: CliIo): Promise<void> {
  const { live, removedStale } = await listLiveVms();
  for (const name of removedStale)
    io.stderr(`removed the stale state of VM ${name} (its QEMU had exited)\n`);
  if (options.json === true) {
    io.stdout(`${JSON.stringify(live, null, 2)}\n`);
    return;
  }
  io.stdout(live.length === 0 ? "no live VMs\n" : `${renderVmList(live)}\n`);
}

/** The shell's convention for a command's status: its exit code, or 128 + the signal number. */
export function exitCodeOf(exit: CommandExit): number {
  if (exit.exitCode !== null) return exit.exitCode;
  const number =
    exit.signal === undefined
      ? undefined
      : (constants.signals as Record<string, number | undefined>)[`SIG${exit.signal}`];
  return number === undefined ? 1 : 128 + number;
}

async function withQmp<T>(
  vm: LiveVm,
  body: (qmp: QmpClient) => Promise<T>,
  options: { readonly events?: boolean } = {},
): Promise<T> {
  const qmp = await connectLiveQmp(vm, options);
  try {
    return await withLiveVm(vm, () => body(qmp));
  } finally {
    qmp.close();
  }
}

export async function shellCommand(name: string, io: CliIo): Promise<void> {
  const vm = await openLiveVm(parseVmName(name));
  const ssh = await connectLiveSsh(vm);
  try {
    const exit = await withLiveVm(vm, () =>
      runInteractiveShell(ssh, {
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
      }),
    );
    io.setExitCode(exitCodeOf(exit));
  } finally {
    ssh.close();
  }
}

/**
 * Commander drops the first `--` from the operands; the raw argv says where it was, so
 * `exec -- ls vm1` runs `ls vm1` in the default VM while `exec vm1 -- ls` runs `ls` in vm1.
 */
export function splitAtDoubleDash(
  words: readonly string[],
  rawArgs: readonly string[],
): { name: string; argv: string[] } {
  const dash = rawArgs.indexOf("--");
  const usage = "write the command after --, e.g. balloon-bench exec [NAME] -- uname -r";
  if (dash === -1) throw new UsageError("exec needs -- before the guest command", { hint: usage });
  const count = rawArgs.length - dash - 1;
  const argv = words.slice(words.length - count);
  const before = words.slice(0, words.length - count);
  if (argv.length === 0) throw new UsageError("exec needs a command after --", { hint: usage });
  if (before.length > 1) {
    throw new UsageError(`exec takes one VM name before --, got '${before.join(" ")}'`, {
      hint: usage,
    });
  }
  return { name: parseVmName(before[0] ?? DEFAULT_VM_NAME), argv };
}

export async function execCommand(name: string, argv: string[], io: CliIo): Promise<void> {
  const vm = await openLiveVm(name);
  const ssh = await connectLiveSsh(vm);
  try {
    // Raw bytes straight to our stdout/stderr: decoding chunks could split UTF-8 sequences.
    const exit = await withLiveVm(vm, () =>
      ssh.execStreaming(argv, {
        stdout: (chunk) => process.stdout.write(chunk),
        stderr: (chunk) => process.stderr.write(chunk),
        // A terminal is not forwarded (it would wait for Ctrl-D); a pipe or file is.
        stdin: process.stdin.isTTY ? undefined : process.stdin,
      }),
    );
    io.setExitCode(exitCodeOf(exit));
  } finally {
    ssh.close();
  }
}

const BALLOON_ACTIONS = new Set(["set", "status", "stats"]);

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(bytes % MiB === 0 ? 0 : 1)} MiB`;
}

export async function balloonCommand(
  words: readonly string[],
  options: { timeout: string },
  io: CliIo,
): Promise<void> {
  const named = words[0] !== undefined && !BALLOON_ACTIONS.has(words[0]);
  const name = named ? (words[0] ?? DEFAULT_VM_NAME) : DEFAULT_VM_NAME;
  const [action, ...rest] = named ? words.slice(1) : words;
  const usage = "balloon-bench balloon [NAME] set SIZE | status | stats";
  if (action === undefined || !BALLOON_ACTIONS.has(action)) {
    throw new UsageError(
      action === undefined
        ? `balloon needs an action after ${named ? `the VM name ${name}` : "it"}: set SIZE, status or stats`
        : `unknown balloon action '${action}'`,
      { hint: usage },
    );
  }
  if ((action === "set" ? 1 : 0) !== rest.length) {
    throw new UsageError(
      `balloon ${action} takes ${action === "set" ? "one SIZE" : "no"} argument`,
      {
        hint: usage,
      },
    );
  }
  const vm = await openLiveVm(parseVmName(name));
  if (action === "set") {
    const sizeText = rest[0] ?? "";
    const target = parseSizeBytes(sizeText);
    if (target === undefined || target <= 0) {
      throw new UsageError(`'${sizeText}' is not a memory size`, {
        hint: "give the guest's target memory size, e.g. 768 (MiB), 768M or 1.5G",
      });
    }
    if (target > vm.state.memoryMiB * MiB) {
      throw new UsageError(
        `${mib(target)} is more than VM ${name}'s ${vm.state.memoryMiB} MiB of memory`,
        {
          hint: `the balloon can give back at most what it took: use ${vm.state.memoryMiB} or less`,
        },
      );
    }
    const timeoutMs = parsePositiveInt(options.timeout, "--timeout") * 1000;
    const move = await withQmp(vm, (qmp) =>
      moveBalloon(qmp, target, {
        timeoutMs,
        onProgress: (actual) =>
          io.stderr(`balloon: actual ${mib(actual)} (target ${mib(target)})\n`),
      }),
    );
    io.stdout(
      `balloon: reached ${mib(move.actualBytes)} (from ${mib(move.fromBytes)}) in ${(move.durationMs / 1000).toFixed(1)} s\n`,
    );
    return;
  }
  if (action === "status") {
    const actual = await withQmp(vm, queryBalloonActualBytes);
    const pid = vm.state.qemu?.pid;
    const rss = pid === undefined ? undefined : await readRssBytes(pid).catch(() => undefined);
    io.stdout(
      `actual: ${mib(actual)} of ${vm.state.memoryMiB} MiB (balloon holds ${mib(vm.state.memoryMiB * MiB - actual)})` +
        `${rss === undefined ? "" : `; QEMU RSS on the host: ${mib(rss)}`}\n`,
    );
    return;
  }
  const stats = await withQmp(vm, async (qmp) => {
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

export async function qmpCommand(
  words: readonly string[],
  options: { events?: boolean },
  io: CliIo,
): Promise<void> {
  const usage =
    "balloon-bench qmp [NAME] COMMAND ['{\"arg\": 1}'] or balloon-bench qmp [NAME] --events";
  if (options.events === true) {
    if (words.length > 1)
      throw new UsageError("qmp --events takes only a VM name", { hint: usage });
    const vm = await openLiveVm(parseVmName(words[0] ?? DEFAULT_VM_NAME));
    const qmp = await connectLiveQmp(vm, { events: true });
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
    return;
  }
  let name = DEFAULT_VM_NAME;
  let command: string | undefined;
  let argsText: string | undefined;
  if (words.length === 1) [command] = words;
  else if (words.length === 2 && words[1]?.trimStart().startsWith("{") === true)
    [command, argsText] = words;
  else if (words.length === 2) [name = DEFAULT_VM_NAME, command] = words;
  else if (words.length === 3) [name = DEFAULT_VM_NAME, command, argsText] = words;
  if (command === undefined) throw new UsageError("qmp needs a command", { hint: usage });
  let args: Record<string, unknown> | undefined;
  if (argsText !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(argsText);
    } catch (error) {
      throw new UsageError(`QMP arguments are not valid JSON: ${(error as Error).message}`, {
        hint: `quote a JSON object, e.g. balloon-bench qmp balloon '{"value": 805306368}'`,
      });
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new UsageError("QMP arguments must be a JSON object", { hint: usage });
    }
    args = parsed as Record<string, unknown>;
  }
  const vm = await openLiveVm(parseVmName(name));
  const reply = await withQmp(vm, (qmp) => qmp.execute(command, args, { timeoutMs: 60_000 }));
  io.stdout(`${JSON.stringify(reply, null, 2)}\n`);
}

export async function featuresCommand(
  name: string,
  options: { json?: boolean },
  io: CliIo,
): Promise<void> {
  const vm = await openLiveVm(parseVmName(name));
  const ssh = await connectLiveSsh(vm);
  try {
    const features = await withQmp(vm, (qmp) => readLiveFeatures(qmp, ssh, vm.state.requestedBits));
    io.stdout(
      options.json === true
        ? `${JSON.stringify(features, null, 2)}\n`
        : `${renderLiveFeatures(vm.name, features)}\n`,
    );
  } finally {
    ssh.close();
  }
}

export async function profileCommand(
  name: string,
  options: ProfileCliOptions,
  io: CliIo,
): Promise<void> {
  const vm = await openLiveVm(parseVmName(name));
  const sizeMiB = parsePositiveInt(options.size, "--size");
  const huge = options.huge === true;
  if (sizeMiB + GUEST_RESERVE_MIB > vm.state.memoryMiB) {
    throw new UsageError(
      `--size ${sizeMiB} MiB does not fit in VM ${vm.name}'s ${vm.state.memoryMiB} MiB (${GUEST_RESERVE_MIB} MiB stay reserved)`,
      { hint: `use --size ${Math.max(1, vm.state.memoryMiB - GUEST_RESERVE_MIB)} or less` },
    );
  }
  if (huge && sizeMiB % 2 !== 0) {
    throw new UsageError(`--huge needs an even --size (2 MiB pages), got ${sizeMiB}`, {
      hint: `use --size ${sizeMiB + 1}`,
    });
  }
  const outDir =
    options.out ?? join("profiles", `${vm.name}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  const allocOnce = await buildAllocOnce(cacheDir());
  const ssh = await connectLiveSsh(vm);
  try {
    const result = await withLiveVm(vm, () =>
      profileAllocOnce(
        ssh,
        allocOnce,
        {
          sizeMiB,
          huge,
          event: options.event,
          outDir,
          topEntries: parsePositiveInt(options.top, "--top"),
        },
        (line) => io.stderr(`${line}\n`),
      ),
    );
    const event = result.event;
    io.stdout(
      [
        event.fallbackReason === undefined
          ? `event: ${event.used}`
          : `event: ${event.used} (software fallback: ${event.requested} is unusable here, ${event.fallbackReason})`,
        `recorded: ${result.recordedEvents.join(", ")}; ${result.recordSummary}`,
        `top entries (perf report --stdio --no-children, in the guest):`,
        ...result.topEntries.map((line) => `  ${line}`),
        `files: ${result.files.map((f) => join(result.outDir, f)).join(", ")}`,
        `read it again: perf report -i ${join(result.outDir, "perf.data")} --kallsyms ${join(result.outDir, "kallsyms")}`,
        "",
      ].join("\n"),
    );
  } finally {
    ssh.close();
  }
}
