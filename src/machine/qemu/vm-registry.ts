/**
 * Every QEMU this process has started and not yet stopped, so the CLI's signal and crash
 * handlers can stop them all. (A SIGKILL of the tool is covered by the parent-death signal.)
 */
export interface Stoppable {
  stop(options?: { quitTimeoutMs?: number; termTimeoutMs?: number }): Promise<unknown>;
}

const live = new Set<Stoppable>();

export function registerVm(vm: Stoppable): void {
  live.add(vm);
}

export function unregisterVm(vm: Stoppable): void {
  live.delete(vm);
}

export function liveVmCount(): number {
  return live.size;
}

/** Stops every live VM quickly (short graceful window), in parallel; never throws. */
export async function stopAllVms(): Promise<void> {
  await Promise.allSettled(
    [...live].map((vm) => vm.stop({ quitTimeoutMs: 2_000, termTimeoutMs: 2_000 })),
  );
}
