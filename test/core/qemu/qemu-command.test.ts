import { expect } from "chai";
import { qemuArgvJson, qemuCommandScript } from "../../../src/core/qemu/qemu-command.js";

describe("a boot's QEMU command files", () => {
  const command = [
    "/usr/bin/qemu-system-x86_64",
    "-machine",
    "q35,mem-merge=off,memory-backend=mem0",
    "-append",
    "console=ttyS0 root=/dev/vda panic=-1",
    "-netdev",
    "user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22",
    "-device",
    "virtio-net-pci,netdev=net0,romfile=",
    "-name",
    "it's",
  ];

  it("writes the exact argv as a JSON array", () => {
    expect(JSON.parse(qemuArgvJson(command))).to.deep.equal(command);
  });

  it("writes one copy-pasteable shell line, each argument quoted by shellQuote", () => {
    const lines = qemuCommandScript(command).trimEnd().split("\n");
    expect(lines[0]).to.equal("#!/bin/sh");
    expect(lines.at(-1)).to.equal(
      "/usr/bin/qemu-system-x86_64 -machine q35,mem-merge=off,memory-backend=mem0 -append 'console=ttyS0 root=/dev/vda panic=-1' -netdev user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22 -device virtio-net-pci,netdev=net0,romfile= -name 'it'\\''s'",
    );
  });
});
