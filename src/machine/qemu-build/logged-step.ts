import { createWriteStream, type WriteStream } from "node:fs";
import { execa } from "execa";
import { BalloonBenchError } from "../../core/errors.js";
import { readTail } from "../../util/file-tail.js";
import type { BuildEnv } from "./build-deps.js";

/** A failed build step: one line, with the last lines of the build log as details. */
export class QemuBuildError extends BalloonBenchError {
  readonly logTail: string;

  constructor(message: string, details: { logTail: string; hint: string }) {
    super(message, { hint: details.hint });
    this.logTail = details.logTail;
  }
}

/** The build log: every step's command line and output, appended. */
export function openBuildLog(path: string): WriteStream {
  return createWriteStream(path, { flags: "a" });
}

/** Runs one step (argv array), its output into the log and, line by line, to onLine. */
export async function runLoggedStep(
  step: {
    name: string;
    argv: readonly string[];
    cwd: string;
    env: BuildEnv;
    log: WriteStream;
    logPath: string;
  },
  onLine: (line: string) => void = () => undefined,
): Promise<void> {
  const [file, ...args] = step.argv;
  if (file === undefined) throw new Error("empty argv");
  step.log.write(`\n$ (cd ${step.cwd} && ${step.argv.join(" ")})\n`);
  const child = execa(file, args, {
    cwd: step.cwd,
    env: step.env,
    extendEnv: false,
    all: true,
    buffer: false,
    reject: false,
    stdin: "ignore",
  });
  let pending = "";
  child.all?.on("data", (chunk: Buffer) => {
    step.log.write(chunk);
    pending += chunk.toString("utf8");
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  });
  const result = await child;
  await new Promise<void>((done) => step.log.write("", () => done()));
  if (result.exitCode === 0) return;
  const how =
    result.signal === undefined ? `exit code ${result.exitCode}` : `signal ${result.signal}`;
  throw new QemuBuildError(`QEMU build failed: ${step.name} ended with ${how}`, {
    logTail: await readTail(step.logPath, 25),
    hint: `see the whole log in ${step.logPath}`,
  });
}
