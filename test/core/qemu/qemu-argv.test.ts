import { expect } from "chai";
import {
  buildQemuArgv,
  qemuOptValue,
  type VmArgvConfig,
} from "../../../src/core/qemu/qemu-argv.js";

describe("buildQemuArgv", () => {
  const guest: VmArgvConfig = {
    machine: "q35",
    accelerator: "tcg",
    cpu: "max",
    memoryMiB: 2048,
    vcpus: 2,
    kernel: {
      kernelPath: "/cache/k/vmlinuz",
      initrdPath: "/cache/k/initrd.cpio",
      append: ["console=ttyS0", "root=/dev/vda", "panic=-1"],
    },
    drives: [{ id: "root", path: "/run/bb/root.qcow2", format: "qcow2" }],
    network: { sshHostPort: 40022 },
    balloon: {
      id: "balloon0",
      properties: [
        ["free-page-reporting", "on"],
        ["x-device-init-reported", "on"],
      ],
    },
    qmpSocketPath: "/run/bb/qmp.sock",
    consolePath: "/results/console.log",
    pidfilePath: "/run/bb/qemu.pid",
  };

  it("builds the full guest command line as an exact argv array", () => {
    expect(buildQemuArgv(guest)).to.deep.equal([
      "-machine",
      "q35",
      "-accel",
      "tcg",
      "-cpu",
      "max",
      "-m",
      "2048M",
      "-smp",
      "2",
      "-nodefaults",
      "-display",
      "none",
      "-no-reboot",
      "-kernel",
      "/cache/k/vmlinuz",
      "-initrd",
      "/cache/k/initrd.cpio",
      "-append",
      "console=ttyS0 root=/dev/vda panic=-1",
      "-blockdev",
      "driver=qcow2,node-name=root,file.driver=file,file.filename=/run/bb/root.qcow2,read-only=off",
      "-device",
      "virtio-blk-pci,drive=root,id=root-dev",
      "-netdev",
      "user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22",
      "-device",
      "virtio-net-pci,netdev=net0,romfile=",
      "-device",
      "virtio-balloon-pci,id=balloon0,free-page-reporting=on,x-device-init-reported=on",
      "-chardev",
      "socket,id=qmp0,path=/run/bb/qmp.sock,server=on,wait=off",
      "-mon",
      "chardev=qmp0,mode=control",
      "-chardev",
      "file,id=console0,path=/results/console.log",
      "-serial",
      "chardev:console0",
      "-pidfile",
      "/run/bb/qemu.pid",
    ]);
  });

  it("builds a paused device-only VM with an iothread for free-page-hint and no console", () => {
    expect(
      buildQemuArgv({
        machine: "q35",
        accelerator: "kvm",
        cpu: "host",
        memoryMiB: 128,
        vcpus: 1,
        drives: [],
        paused: true,
        balloon: { id: "b0", properties: [["free-page-hint", "on"]], iothreadId: "io0" },
        qmpSocketPath: "/tmp/q.sock",
      }),
    ).to.deep.equal([
      "-machine",
      "q35",
      "-accel",
      "kvm",
      "-cpu",
      "host",
      "-m",
      "128M",
      "-smp",
      "1",
      "-nodefaults",
      "-display",
      "none",
      "-no-reboot",
      "-S",
      "-object",
      "iothread,id=io0",
      "-device",
      "virtio-balloon-pci,id=b0,free-page-hint=on,iothread=io0",
      "-chardev",
      "socket,id=qmp0,path=/tmp/q.sock,server=on,wait=off",
      "-mon",
      "chardev=qmp0,mode=control",
      "-serial",
      "none",
    ]);
  });

  it("doubles commas inside option values so a path cannot inject options", () => {
    expect(qemuOptValue("/tmp/a,b=c")).to.equal("/tmp/a,,b=c");
    const argv = buildQemuArgv({
      ...guest,
      drives: [{ id: "d", path: "/x,read-only=on", format: "raw", readOnly: true }],
    });
    expect(argv).to.include(
      "driver=raw,node-name=d,file.driver=file,file.filename=/x,,read-only=on,read-only=on",
    );
  });

  it("keeps a kernel command line with spaces as one argv element", () => {
    const argv = buildQemuArgv(guest);
    expect(argv[argv.indexOf("-append") + 1]).to.equal("console=ttyS0 root=/dev/vda panic=-1");
  });
});
