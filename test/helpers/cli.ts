import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";

const cliEntry = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI from source as a user would run the built one (argv array, no shell). */
export async function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  const result = await execa("node", ["--import", "tsx", cliEntry, ...args], {
    reject: false,
    env: { ...env, BALLOON_BENCH_DEBUG: undefined },
    extendEnv: true,
    stdin: "ignore",
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** A CLI run in the background, whose stderr (progress) a test watches to act at a given step. */
export interface SpawnedCli {
  readonly child: ResultPromise;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves once `pattern` has matched `count` lines of stderr; rejects if the CLI ends first. */
  waitFor(pattern: RegExp, count?: number): Promise<void>;
}

export function spawnCli(args: readonly string[], env: Record<string, string> = {}): SpawnedCli {
  const child = execa("node", ["--import", "tsx", cliEntry, ...args], {
    reject: false,
    env: { ...env, BALLOON_BENCH_DEBUG: undefined },
    extendEnv: true,
    stdin: "ignore",
  });
  let text = "";
  child.stderr?.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const matches = (pattern: RegExp): number =>
    text.split("\n").filter((line) => pattern.test(line)).length;
  return {
    child,
    stderr: () => text,
    waitFor: (pattern, count = 1) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (matches(pattern) >= count) {
            child.stderr?.off("data", check);
            resolve();
          }
        };
        child.stderr?.on("data", check);
        check();
        void child.then(() => {
          if (matches(pattern) < count)
            reject(new Error(`the CLI ended before ${String(pattern)} x${count}:\n${text}`));
        });
      }),
  };
}
