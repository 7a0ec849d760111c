import { spawn, type ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { describeSilentGuest, processCpuSeconds } from "../../../src/machine/qemu/process-state.js";

/** Real processes stand in for a QEMU: one that idles, one that spins, one that is stopped. */
describe("process-state: why a guest's console stayed empty", () => {
  const children: ChildProcess[] = [];
  const start = (script: string): ChildProcess => {
    const child = spawn(process.execPath, ["-e", script], { stdio: "ignore" });
    children.push(child);
    return child;
  };
  afterEach(() => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
  });

  it("calls a QEMU that got almost no CPU a starved VM on an overloaded host", async () => {
    const idle = start("setTimeout(() => {}, 60000)");
    await sleep(300);
    expect(await describeSilentGuest(idle.pid ?? 0, 120_000)).to.match(
      /^the console is empty and QEMU used \d+\.\d s of CPU in 120 s: the host gave it almost no CPU \(overloaded\)$/,
    );
  });

  it("calls a QEMU that ran a guest whose init printed nothing", async () => {
    const busy = start("for (;;) {}");
    // However loaded the host, it gets some CPU eventually: wait for it rather than for a time.
    let cpuS = 0;
    for (let tries = 0; tries < 200 && cpuS < 0.3; tries++) {
      await sleep(100);
      cpuS = (await processCpuSeconds(busy.pid ?? 0)) ?? 0;
    }
    expect(cpuS).to.be.at.least(0.3);
    expect(await describeSilentGuest(busy.pid ?? 0, 1_000)).to.match(
      /^the console is empty although QEMU used \d+\.\d s of CPU in 1 s: the guest ran, but its init printed nothing \(it hung, or is not the image's init\)$/,
    );
  });

  it("says a stopped QEMU is stopped", async () => {
    const stopped = start("setTimeout(() => {}, 60000)");
    await sleep(200);
    stopped.kill("SIGSTOP");
    await sleep(100);
    expect(await describeSilentGuest(stopped.pid ?? 0, 120_000)).to.equal(
      "the console is empty and QEMU is stopped (SIGSTOP, or a debugger holds it)",
    );
  });
});
