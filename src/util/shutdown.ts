/**
 * Whether the process is shutting down (a signal arrived). Long work takes the signal so that
 * an interrupt stops it between steps and is recorded as an interrupt, not as a failure.
 */
const controller = new AbortController();
let graceful = 0;

export function requestShutdown(): void {
  controller.abort(new Error("shutting down"));
}

export function shutdownRequested(): boolean {
  return controller.signal.aborted;
}

export function shutdownSignal(): AbortSignal {
  return controller.signal;
}

/**
 * Declares work that unwinds by itself on an interrupt (a run records the interrupted boot and
 * stops its VMs): the signal handler then lets it finish instead of exiting at once.
 */
export function beginGracefulWork(): Disposable {
  graceful += 1;
  let done = false;
  return {
    [Symbol.dispose]: () => {
      if (done) return;
      done = true;
      graceful -= 1;
    },
  };
}

export function gracefulWorkRunning(): boolean {
  return graceful > 0;
}
