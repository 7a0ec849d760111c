import { expect } from "chai";
import {
  buildQemuArgv,
  machineArgs,
  machineOption,
  memoryBackendArgs,
} from "../../../src/core/qemu/qemu-argv.js";

describe("guest memory in the QEMU argv", () => {
  it("turns mem-merge off and names the RAM's backend on the machine", () => {
    expect(machineOption("q35", { merge: false, backing: "anonymous" })).to.equal(
      "q35,mem-merge=off,memory-backend=mem0",
    );
    expect(machineOption("q35", { merge: true, backing: "memfd" })).to.equal(
      "q35,mem-merge=on,memory-backend=mem0",
    );
    expect(machineOption("q35", undefined)).to.equal("q35");
    expect(
      machineArgs({
        machine: "q35",
        accelerator: "tcg",
        cpu: "max",
        memory: { merge: false, backing: "anonymous" },
      }),
    ).to.deep.equal([
      "-machine",
      "q35,mem-merge=off,memory-backend=mem0",
      "-accel",
      "tcg",
      "-cpu",
      "max",
    ]);
  });

  it("backs RAM with anonymous memory, a memfd, or a memfd of 2 MiB hugetlb pages", () => {
    expect(memoryBackendArgs(1024, { merge: false, backing: "anonymous" })).to.deep.equal([
      "-object",
      "memory-backend-ram,id=mem0,size=1024M,merge=off",
    ]);
    expect(memoryBackendArgs(1024, { merge: false, backing: "memfd" })).to.deep.equal([
      "-object",
      "memory-backend-memfd,id=mem0,size=1024M,merge=off",
    ]);
    expect(memoryBackendArgs(2048, { merge: true, backing: "hugetlb" })).to.deep.equal([
      "-object",
      "memory-backend-memfd,id=mem0,size=2048M,merge=on,hugetlb=on,hugetlbsize=2M",
    ]);
    expect(memoryBackendArgs(1024, undefined)).to.deep.equal([]);
  });

  it("puts the backend right after -m and -smp in the full command line", () => {
    const argv = buildQemuArgv({
      machine: "q35",
      memory: { merge: false, backing: "memfd" },
      accelerator: "tcg",
      cpu: "max",
      memoryMiB: 1024,
      vcpus: 2,
      drives: [],
      qmpSocketPath: "/run/q.sock",
      paused: true,
    });
    expect(argv.slice(0, 12)).to.deep.equal([
      "-machine",
      "q35,mem-merge=off,memory-backend=mem0",
      "-accel",
      "tcg",
      "-cpu",
      "max",
      "-m",
      "1024M",
      "-smp",
      "2",
      "-object",
      "memory-backend-memfd,id=mem0,size=1024M,merge=off",
    ]);
  });
});
