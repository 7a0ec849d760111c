/**
 * Pure: what Kbuild's quiet output says about a build in progress. Each compiled object prints
 * one "  CC      path.o" line (CC [M] for a module), so their count is the build's progress;
 * Kbuild has no total up front, so a TTY shows the count, the latest object and the time.
 */

export interface MakeProgress {
  readonly compiled: number;
  readonly latest: string | undefined;
}

export const NO_PROGRESS: MakeProgress = { compiled: 0, latest: undefined };

const COMPILE_LINE = /^\s+CC(?: \[M\])?\s+(\S+)\s*$/;

/** The progress after one line of make's output (unchanged by lines that compile nothing). */
export function advanceMakeProgress(progress: MakeProgress, line: string): MakeProgress {
  const match = COMPILE_LINE.exec(line);
  if (match?.[1] === undefined) return progress;
  return { compiled: progress.compiled + 1, latest: match[1] };
}

/** One status line, e.g. "1843 files compiled, latest mm/huge_memory.o". */
export function describeMakeProgress(progress: MakeProgress): string {
  if (progress.compiled === 0) return "starting";
  return `${progress.compiled} files compiled, latest ${progress.latest ?? "?"}`;
}
