import { BalloonBenchError, UsageError } from "../core/errors.js";

/** The VM's QEMU is gone (or its pid now belongs to another process); its state was removed. */
export class VmNotRunningError extends BalloonBenchError {
  constructor(readonly vmName: string) {
    super(`VM ${vmName} is not running (its QEMU exited); removed its stale state`, {
      hint: `start it again with \`balloon-bench up --name ${vmName}\``,
    });
  }
}

/** No state directory for that name. */
export class NoSuchVmError extends UsageError {
  constructor(readonly vmName: string) {
    super(`no VM named ${vmName}`, {
      hint: `start one with \`balloon-bench up --name ${vmName}\`; \`balloon-bench ls\` lists live VMs`,
    });
  }
}

/** The VM exists but `up` is still booting it. */
export class VmNotReadyError extends BalloonBenchError {
  constructor(readonly vmName: string) {
    super(`VM ${vmName} is still booting`, {
      hint: "wait until `balloon-bench up` has printed how to reach it",
    });
  }
}

/** The VM's state file does not validate, while the QEMU it names still runs: never taken for dead. */
export class VmStateDamagedError extends BalloonBenchError {
  constructor(
    readonly vmName: string,
    problem: string,
    pid: number,
  ) {
    super(
      `the state of VM ${vmName} is damaged (${problem}), and its QEMU (pid ${pid}) still runs`,
      {
        hint: `stop it with \`balloon-bench down ${vmName}\`, which needs only the pid it recorded`,
      },
    );
  }
}
