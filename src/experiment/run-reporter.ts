/** One finished iteration, as a run reports it. */
export interface IterationEvent {
  readonly cell: string;
  readonly round: number;
  readonly warmup: boolean;
  readonly iteration: number;
  /** Counted iterations of the cell (or warm-ups of the boot, for a warm-up). */
  readonly of: number;
  readonly taskClockMs: number | undefined;
  readonly wallMs: number;
}

/** Where a run's progress goes: the CLI picks a bar on a TTY and plain lines elsewhere. */
export interface RunReporter {
  /** Informational lines (boots, warnings, features). */
  log(line: string): void;
  /** Iterations (warm-ups included) the run will execute, and the cell now running. */
  start(totalIterations: number): void;
  cell(cellId: string): void;
  iteration(event: IterationEvent): void;
  stop(): void;
}

export function describeIteration(event: IterationEvent): string {
  const value =
    event.taskClockMs === undefined ? "done" : `task-clock ${event.taskClockMs.toFixed(1)} ms`;
  return `${event.cell} r${event.round} ${event.warmup ? "warm-up" : "iteration"} ${event.iteration}/${event.of}: ${value} (wall ${(event.wallMs / 1000).toFixed(2)} s)`;
}

/** CI and logs: every line plain, one per completed iteration, with a running count. */
export function plainReporter(write: (line: string) => void): RunReporter {
  let total = 0;
  let done = 0;
  return {
    log: write,
    start: (n) => (total = n),
    cell: () => undefined,
    iteration: (event) => {
      done += 1;
      write(`[${done}/${total}] ${describeIteration(event)}`);
    },
    stop: () => undefined,
  };
}
