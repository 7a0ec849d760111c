/**
 * Whether the process is shutting down (a signal arrived). Long work takes the signal so that
 * an interrupt stops it between steps and is recorded as an interrupt, not as a failure.
 */
const controller = new AbortController();

export function requestShutdown(): void {
  controller.abort(new Error("shutting down"));
}

export function shutdownRequested(): boolean {
  return controller.signal.aborted;
}

export function shutdownSignal(): AbortSignal {
  return controller.signal;
}
