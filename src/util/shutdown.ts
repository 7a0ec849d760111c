/**
 * Whether the process is shutting down (a signal arrived). Long loops check it so that an
 * interrupt is not mistaken for a failure and recorded as one.
 */
let requested = false;

export function requestShutdown(): void {
  requested = true;
}

export function shutdownRequested(): boolean {
  return requested;
}
