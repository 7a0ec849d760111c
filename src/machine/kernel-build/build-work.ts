import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { copyFile, mkdir, open, readFile, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { execa } from "execa";
import { describeMakeFailure } from "../../core/kernel/kernel-build-plan.js";
import type { BuildCache } from "./build-cache.js";

/** Appends each line of `input` to the log and hands it to `onLine`; resolves once all are written. */
async function tapLines(
  input: NodeJS.ReadableStream | null,
  logPath: string,
  onLine: (line: string) => void,
): Promise<void> {
  if (input === null) return;
  const out = createWriteStream(logPath, { flags: "a" });
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (!out.write(`${line}\n`)) await once(out, "drain");
    onLine(line);
  }
  out.end();
  await once(out, "close");
}

/**
 * One build in progress: its folder under CACHE/kernel-builds/tmp (named with the pid, so a
 * killed build's folder is recognised and removed), the source copy, the output, the log.
 */
export class BuildWork {
  readonly dir: string;
  readonly src: string;
  readonly out: string;
  readonly logPath: string;
  private failedLog: string | undefined;

  private constructor(
    private readonly cache: BuildCache,
    private readonly name: string,
    private readonly handle: FileHandle,
  ) {
    this.dir = join(cache.tmp, name);
    this.src = join(this.dir, "src");
    this.out = join(this.dir, "out");
    this.logPath = join(this.dir, "build.log");
  }

  static async open(cache: BuildCache, inputKey: string): Promise<BuildWork> {
    const name = `${inputKey}-p${process.pid}-${Date.now().toString(36)}`;
    await mkdir(join(cache.tmp, name, "out"), { recursive: true });
    const handle = await open(join(cache.tmp, name, "build.log"), "a");
    return new BuildWork(cache, name, handle);
  }

  async log(line: string): Promise<void> {
    await this.handle.write(line.endsWith("\n") ? line : `${line}\n`);
  }

  /**
   * make in the source copy, output appended to the log; a failure shows make's own error.
   * `onLine` also sees each stdout line (the live progress of a build).
   */
  async make(
    step: string,
    argv: readonly string[],
    onLine?: (line: string) => void,
  ): Promise<void> {
    await this.log(`$ make ${argv.join(" ")}`);
    // Both appended to the log (O_APPEND: make's lines stay whole and in order).
    const log = { file: this.logPath, append: true } as const;
    const child = execa("make", [...argv], {
      cwd: this.src,
      reject: false,
      stdin: "ignore",
      stdout: onLine === undefined ? log : "pipe",
      stderr: log,
      env: { LC_ALL: "C" },
    });
    // With a listener, stdout reaches the log a whole line at a time, in order, through us.
    const tap = onLine === undefined ? undefined : tapLines(child.stdout, this.logPath, onLine);
    const result = await child;
    await tap;
    if (result.exitCode === 0) return;
    const text = await readFile(this.logPath, "utf8");
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    this.failedLog = join(this.cache.failed, `${this.name}-${stamp}.log`);
    throw describeMakeFailure(step, text.slice(-400_000), this.failedLog);
  }

  /** `make -s ARGS` printing one value (kernelrelease). */
  async makeValue(argv: readonly string[]): Promise<string> {
    const result = await execa("make", ["-s", ...argv], { cwd: this.src, reject: false });
    return String(result.stdout).trim().split("\n").at(-1) ?? "";
  }

  async closeLog(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  /** Keeps a failed build's log (the message names it), then removes the work folder. */
  async discard(): Promise<void> {
    await this.closeLog();
    if (this.failedLog !== undefined) {
      await mkdir(this.cache.failed, { recursive: true });
      await copyFile(this.logPath, this.failedLog).catch(() => undefined);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
