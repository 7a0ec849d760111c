import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import type { CliIo } from "../../src/cli/io.js";
import { liveLine } from "../../src/cli/live-line.js";

function capture(): { io: CliIo; text: () => string } {
  let err = "";
  const io: CliIo = {
    stdout: () => undefined,
    stderr: (t) => (err += t),
    setExitCode: () => undefined,
  };
  return { io, text: () => err };
}

describe("live-line", () => {
  it("on a terminal: redraws in place, fits the width, and ends before a whole line", async () => {
    const { io, text } = capture();
    const status = liveLine(io, { isTTY: true, columns: 24 }, 10);
    status.update("kernel build: 1 file");
    status.update("dropped: within the interval");
    await sleep(20);
    status.update("kernel build: 1843 files compiled, latest mm/huge_memory.o");
    status.line("kernel build: [4/4] modules_install");
    status.end();
    expect(text()).to.equal(
      "\rkernel build: 1 file\x1b[K" +
        "\rkernel build: 1843 fil…\x1b[K" +
        "\nkernel build: [4/4] modules_install\n",
    );
  });

  it("off a terminal (CI logs): no redraws, whole lines only", () => {
    const { io, text } = capture();
    const status = liveLine(io, { isTTY: false, columns: undefined });
    status.update("kernel build: 1 file");
    status.line("kernel build: [3/4] build");
    status.end();
    expect(text()).to.equal("kernel build: [3/4] build\n");
  });
});
