// Records real QMP replies from this machine's QEMU as test fixtures (re-run after a QEMU upgrade):
//   node --import tsx scripts/record-qmp-fixtures.ts
import { writeFile } from "node:fs/promises";
import { launchVm } from "../src/machine/qemu/qemu-vm.js";
import { BALLOON_VIRTIO_PATH } from "../src/core/balloon/balloon-device.js";
import { readQemuBinaryInfo, resolveQemuBinary } from "../src/machine/qemu/qemu-binary.js";

const out = new URL("../test/fixtures/qmp/", import.meta.url);
const qemuPath = await resolveQemuBinary(undefined);
const info = await readQemuBinaryInfo(qemuPath);
await using vm = await launchVm({
  qemuPath,
  captureConsole: false,
  config: {
    machine: "q35",
    accelerator: "tcg",
    cpu: "max",
    memoryMiB: 128,
    vcpus: 1,
    drives: [],
    paused: true,
    balloon: {
      id: "balloon0",
      properties: [
        ["deflate-on-oom", "on"],
        ["free-page-hint", "on"],
        ["page-poison", "on"],
        ["free-page-reporting", "on"],
      ],
      iothreadId: "balloon-iothread0",
    },
  },
});
const record = {
  qemu: info.versionLine,
  greeting: vm.qmp.greeting,
  "x-query-virtio": await vm.qmp.execute("x-query-virtio"),
  "x-query-virtio-status": await vm.qmp.execute("x-query-virtio-status", {
    path: BALLOON_VIRTIO_PATH,
  }),
  "query-balloon": await vm.qmp.execute("query-balloon"),
};
await writeFile(
  new URL("balloon-paused-all-properties.json", out),
  `${JSON.stringify(record, null, 2)}\n`,
);
console.log("wrote test/fixtures/qmp/balloon-paused-all-properties.json");
