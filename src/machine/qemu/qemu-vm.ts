import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa, type ResultPromise } from "execa";
import { VmLaunchError } from "../../core/errors.js";
import { QmpClient } from "../qmp/qmp-client.js";
import { AsyncStack } from "../../util/disposable.js";
import { readTail } from "../../util/file-tail.js";
import { makePrivateTempDir, removeDir } from "../../util/private-dir.js";
import { buildQemuArgv, type VmArgvConfig } from "../../core/qemu/qemu-argv.js";
import {
  signalProcess,
  stopInSteps,
  type StopOptions,
  type StopResult,
  type VmExit,
} from "./stop-in-steps.js";
import { writeQemuCommandFiles } from "./qemu-command-files.js";
import { registerVm, unregisterVm } from "./vm-registry.js";

export interface LaunchOptions {
  readonly qemuPath: string;
  readonly config: Omit<VmArgvConfig, "qmpSocketPath" | "pidfilePath" | "consolePath">;
  /** Where console.log and qemu-stderr.log go (kept after stop); default: the private run dir. */
  readonly logDir?: string | undefined;
  /** Whether to capture the serial console to console.log (default true). */
  readonly captureConsole?: boolean;
  /** SIGKILL QEMU when this process dies, however it dies (default true; off for `up`). */
  readonly dieWithParent?: boolean;
  /** How long QEMU has to bring up QMP. */
  readonly qmpTimeoutMs?: number;
  /** Path of util-linux setpriv, which sets the parent-death signal before exec'ing QEMU. */
  readonly setprivPath?: string;
  /**
   * An existing private directory for the QMP socket and pidfile, owned by the caller and kept
   * when the VM stops (a live VM's state directory). Default: a fresh `bb-vm-` run directory,
   * removed on stop.
   */
  readonly runDir?: string;
}

export type { StopMethod, StopOptions, StopResult, VmExit } from "./stop-in-steps.js";

/**
 * A QEMU process this object owns: started, connected over QMP, logging to files, and stopped
 * in steps (QMP quit, SIGTERM, SIGKILL) by stop() or `await using`, with cleanup that always runs.
 */
export class RunningVm implements AsyncDisposable {
  private stopping: Promise<StopResult> | undefined;
  private exitInfo: VmExit | undefined;
  private detached = false;

  constructor(
    readonly pid: number,
    readonly command: readonly string[],
    readonly qmp: QmpClient,
    readonly runDir: string,
    readonly consolePath: string | undefined,
    readonly stderrPath: string,
    /** Resolves when QEMU has exited, however it exited. */
    readonly exited: Promise<VmExit>,
    /** Whether stop() removes runDir (false when the caller owns it). */
    private readonly ownsRunDir = true,
  ) {
    void exited.then((info) => (this.exitInfo = info));
  }

  /**
   * Lets QEMU run on without this process (`balloon-bench up`): closes our QMP connection and
   * forgets the VM, so neither stop() nor the exit handlers touch it. Only meaningful for a VM
   * launched with dieWithParent false.
   */
  detach(): void {
    this.detached = true;
    this.qmp.close();
    unregisterVm(this);
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** The last console and stderr lines, for error messages. */
  async logTails(maxLines = 30): Promise<{ console: string; stderr: string }> {
    return {
      console: this.consolePath === undefined ? "" : await readTail(this.consolePath, maxLines),
      stderr: await readTail(this.stderrPath, maxLines),
    };
  }

  /** Stops QEMU in steps; calling it again returns the first call's result. */
  stop(options: StopOptions = {}): Promise<StopResult> {
    if (this.detached) return Promise.reject(new Error(`QEMU pid ${this.pid} was detached`));
    this.stopping ??= this.doStop(options);
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async doStop(options: StopOptions): Promise<StopResult> {
    try {
      return await this.escalate(options);
    } finally {
      this.qmp.close();
      unregisterVm(this);
      if (this.ownsRunDir) await removeDir(this.runDir);
    }
  }

  private escalate(options: StopOptions): Promise<StopResult> {
    return stopInSteps(
      {
        pid: this.pid,
        hasExited: () => this.exitInfo !== undefined,
        exitInfo: () => this.exitInfo ?? { exitCode: undefined, signal: undefined },
        sendQuit: (timeoutMs) => {
          if (!this.qmp.isOpen) return false;
          this.qmp.execute("quit", undefined, { timeoutMs }).catch(() => undefined);
          return true;
        },
        // Our child: its pid cannot be reused before we have reaped it.
        signal: (signal) => signalProcess(this.pid, signal),
        waitForExit: (timeoutMs) => this.waitForExit(timeoutMs),
      },
      options,
    );
  }

  private async waitForExit(timeoutMs: number): Promise<VmExit | undefined> {
    const timeout = sleep(timeoutMs, undefined, { ref: false });
    return Promise.race([this.exited, timeout]);
  }
}

interface Spawned {
  readonly pid: number;
  readonly command: readonly string[];
  readonly exited: Promise<VmExit>;
}

/**
 * Spawns QEMU in its own process group (a Ctrl-C in the terminal reaches us, and we stop QEMU in
 * steps), under setpriv's parent-death signal unless the VM must outlive us.
 */
async function spawnQemu(
  options: LaunchOptions,
  argv: readonly string[],
  stderrPath: string,
): Promise<Spawned> {
  const dieWithParent = options.dieWithParent ?? true;
  const file = dieWithParent ? (options.setprivPath ?? "setpriv") : options.qemuPath;
  const args = dieWithParent ? ["--pdeathsig", "SIGKILL", "--", options.qemuPath, ...argv] : argv;
  const command = [options.qemuPath, ...argv];
  const subprocess: ResultPromise = execa(file, args, {
    stdin: "ignore",
    stdout: "ignore",
    stderr: { file: stderrPath },
    reject: false,
    detached: true,
    cleanup: false,
  });
  const exited: Promise<VmExit> = subprocess.then(
    (result) => ({ exitCode: result.exitCode, signal: result.signal }),
    () => ({ exitCode: undefined, signal: undefined }),
  );
  const pid = subprocess.pid;
  if (pid === undefined) {
    await exited;
    throw new VmLaunchError(`could not start ${options.qemuPath}`, {
      command,
      stderrTail: await readTail(stderrPath),
      hint: "run `balloon-bench doctor`",
    });
  }
  return { pid, command, exited };
}

/** Connects QMP; QEMU exiting first, or never answering, is a launch error with its logs. */
async function connectQmp(
  spawned: Spawned,
  paths: { qmpSocketPath: string; stderrPath: string; consolePath: string | undefined },
  timeoutMs: number,
): Promise<QmpClient> {
  const giveUp = new AbortController();
  void spawned.exited.then(() => giveUp.abort(new Error("QEMU exited")));
  try {
    return await QmpClient.connect(paths.qmpSocketPath, { timeoutMs, signal: giveUp.signal });
  } catch (error) {
    const exit = await Promise.race([spawned.exited, sleep(200).then(() => undefined)]);
    const stderrTail = await readTail(paths.stderrPath);
    // QEMU's own last word (e.g. a device that refuses its properties), in the one line.
    const said = stderrTail.split("\n").findLast((line) => line.trim() !== "");
    throw new VmLaunchError(
      exit === undefined
        ? `QEMU did not bring up QMP: ${(error as Error).message}`
        : `QEMU exited during startup (${describeExit(exit)})${said === undefined ? "" : `: ${said.trim()}`}`,
      {
        command: spawned.command,
        exitCode: exit?.exitCode,
        signal: exit?.signal,
        stderrTail,
        consoleTail: paths.consolePath === undefined ? "" : await readTail(paths.consolePath),
        hint: "see QEMU's stderr above; `balloon-bench doctor` checks the installation",
        cause: error,
      },
    );
  }
}

/** Starts QEMU and connects QMP; on any failure nothing is left running or on disk. */
export async function launchVm(options: LaunchOptions): Promise<RunningVm> {
  await using stack = new AsyncStack();
  const ownsRunDir = options.runDir === undefined;
  const runDir = options.runDir ?? (await makePrivateTempDir("bb-vm-"));
  if (ownsRunDir) stack.defer(() => removeDir(runDir));
  const logDir = options.logDir ?? runDir;
  const qmpSocketPath = join(runDir, "qmp.sock");
  const consolePath = options.captureConsole === false ? undefined : join(logDir, "console.log");
  const stderrPath = join(logDir, "qemu-stderr.log");
  const argv = buildQemuArgv({
    ...options.config,
    qmpSocketPath,
    consolePath,
    pidfilePath: join(runDir, "qemu.pid"),
  });
  // Next to the logs, so a user can rerun the boot by hand (also when QEMU fails to start).
  if (options.logDir !== undefined)
    await writeQemuCommandFiles(options.logDir, [options.qemuPath, ...argv]);
  const spawned = await spawnQemu(options, argv, stderrPath);
  stack.defer(async () => {
    const done = await Promise.race([spawned.exited, sleep(0).then(() => undefined)]);
    if (done === undefined) {
      signalProcess(spawned.pid, "SIGKILL");
      await spawned.exited;
    }
  });
  const qmp = await connectQmp(
    spawned,
    { qmpSocketPath, stderrPath, consolePath },
    options.qmpTimeoutMs ?? 15_000,
  );
  const vm = new RunningVm(
    spawned.pid,
    spawned.command,
    qmp,
    runDir,
    consolePath,
    stderrPath,
    spawned.exited,
    ownsRunDir,
  );
  registerVm(vm);
  stack.move();
  return vm;
}

export function describeExit(exit: VmExit): string {
  if (exit.signal !== undefined) return `killed by ${exit.signal}`;
  return `exit code ${String(exit.exitCode)}`;
}
