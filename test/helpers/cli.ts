import { fileURLToPath } from "node:url";
import { execa } from "execa";

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
