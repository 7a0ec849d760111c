import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa, type ResultPromise } from "execa";
import { VmLaunchError, AbnormalShutdownError } from "../errors.js";
import { QmpClient } from "../qmp/qmp-client.js";
import { AsyncStack } from "../util/disposable.js";
import { readTail } from "../util/file-tail.js";
import { makePrivateTempDir, removeDir } from "../util/private-dir.js";
import { buildQemuArgv, type VmArgvConfig } from "./qemu-argv.js";
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
}

export interface VmExit {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
}

export type StopMethod = "already-exited" | "quit" | "sigterm" | "sigkill";

export interface StopResult extends VmExit {
  readonly method: StopMethod;
}

export interface StopOptions {
  readonly quitTimeoutMs?: number;
  readonly termTimeoutMs?: number;
  readonly killTimeoutMs?: number;
}

/**
 * A QEMU process this object owns: started, connected over QMP, logging to files, and stopped
 * in steps (QMP quit, SIGTERM, SIGKILL) by stop() or `await using`, with cleanup that always runs.
 */
export class RunningVm implements AsyncDisposable {
  private stopping: Promise<StopResult> | undefined;
  private exitInfo: VmExit | undefined;

  constructor(
    readonly pid: number,
    readonly command: readonly string[],
    readonly qmp: QmpClient,
    readonly runDir: string,
    readonly consolePath: string | undefined,
    readonly stderrPath: string,
    /** Resolves when QEMU has exited, however it exited. */
    readonly exited: Promise<VmExit>,
  ) {
    void exited.then((info) => (this.exitInfo = info));
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
      await removeDir(this.runDir);
    }
  }

  private async escalate(options: StopOptions): Promise<StopResult> {
    if (this.exitInfo !== undefined) return { ...this.exitInfo, method: "already-exited" };
    const quitTimeoutMs = options.quitTimeoutMs ?? 10_000;
    if (this.qmp.isOpen) {
      // QEMU may exit before it answers 'quit' (the SHUTDOWN event comes first): either is fine.
      this.qmp.execute("quit", undefined, { timeoutMs: quitTimeoutMs }).catch(() => undefined);
      const exit = await this.waitForExit(quitTimeoutMs);
      if (exit !== undefined) return { ...exit, method: "quit" };
    }
    signalProcess(this.pid, "SIGTERM");
    const afterTerm = await this.waitForExit(options.termTimeoutMs ?? 5_000);
    if (afterTerm !== undefined) return { ...afterTerm, method: "sigterm" };
    signalProcess(this.pid, "SIGKILL");
    const afterKill = await this.waitForExit(options.killTimeoutMs ?? 10_000);
    if (afterKill !== undefined) return { ...afterKill, method: "sigkill" };
    throw new AbnormalShutdownError(`QEMU (pid ${this.pid}) survived SIGKILL`, {
      hint: "it may be stuck in the kernel (D state); check `ps -o stat -p PID`",
    });
  }

  private async waitForExit(timeoutMs: number): Promise<VmExit | undefined> {
    const timeout = sleep(timeoutMs, undefined, { ref: false });
    return Promise.race([this.exited, timeout]);
  }
}

/** Starts QEMU and connects QMP; on any failure nothing is left running or on disk. */
export async function launchVm(options: LaunchOptions): Promise<RunningVm> {
  await using stack = new AsyncStack();
  const runDir = await makePrivateTempDir("bb-vm-");
  stack.defer(() => removeDir(runDir));
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
  const dieWithParent = options.dieWithParent ?? true;
  const file = dieWithParent ? (options.setprivPath ?? "setpriv") : options.qemuPath;
  const args = dieWithParent ? ["--pdeathsig", "SIGKILL", "--", options.qemuPath, ...argv] : argv;
  const command = [options.qemuPath, ...argv];

  // Own process group: a Ctrl-C in the terminal reaches us, and we stop QEMU in steps.
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
  stack.defer(async () => {
    const done = await Promise.race([exited, sleep(0).then(() => undefined)]);
    if (done === undefined) {
      signalProcess(pid, "SIGKILL");
      await exited;
    }
  });

  const giveUp = new AbortController();
  void exited.then(() => giveUp.abort(new Error("QEMU exited")));
  let qmp: QmpClient;
  try {
    qmp = await QmpClient.connect(qmpSocketPath, {
      timeoutMs: options.qmpTimeoutMs ?? 15_000,
      signal: giveUp.signal,
    });
  } catch (error) {
    const exit = await Promise.race([exited, sleep(200).then(() => undefined)]);
    throw new VmLaunchError(
      exit === undefined
        ? `QEMU did not bring up QMP: ${(error as Error).message}`
        : `QEMU exited during startup (${describeExit(exit)})`,
      {
        command,
        exitCode: exit?.exitCode,
        signal: exit?.signal,
        stderrTail: await readTail(stderrPath),
        consoleTail: consolePath === undefined ? "" : await readTail(consolePath),
        hint: "see QEMU's stderr above; `balloon-bench doctor` checks the installation",
        cause: error,
      },
    );
  }
  const vm = new RunningVm(pid, command, qmp, runDir, consolePath, stderrPath, exited);
  registerVm(vm);
  stack.move();
  return vm;
}

export function describeExit(exit: VmExit): string {
  if (exit.signal !== undefined) return `killed by ${exit.signal}`;
  return `exit code ${String(exit.exitCode)}`;
}

/** Sends a signal, ignoring a process that has already gone (ESRCH). */
function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}
