import { execa, type ResultPromise } from "execa";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * QEMU processes (by pid) this test suite started whose command line contains `marker`; for
 * leak checks. The suite's QEMUs name its private temp dir (see test/support/leak-check.ts).
 */
export async function qemuPidsWithMarker(marker: string): Promise<number[]> {
  const result = await execa("pgrep", ["-af", "qemu-system"], { reject: false });
  const suiteDir = process.env["TMPDIR"] ?? "";
  return result.stdout
    .split("\n")
    .filter((line) => line.includes(marker) && line.includes(suiteDir))
    .map((line) => Number(line.split(" ")[0]));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `check` is true or `timeoutMs` passes; returns the last result. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(50);
  }
  return check();
}

/** Starts a bare paused QEMU with QMP on `socketPath` (no guest: instant, no disk, TCG). */
export function startBareQemu(
  socketPath: string,
  extra: string[] = [],
  qemuPath = "qemu-system-x86_64",
): ResultPromise {
  return execa(
    qemuPath,
    [
      "-machine",
      "q35",
      "-accel",
      "tcg",
      "-S",
      "-nodefaults",
      "-display",
      "none",
      "-qmp",
      `unix:${socketPath},server=on,wait=off`,
      ...extra,
    ],
    { reject: false, stdin: "ignore" },
  );
}
