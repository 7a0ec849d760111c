// Records real guest outputs as test fixtures (re-run after changing the facts script or image):
//   node --import tsx scripts/record-guest-fixtures.ts
import { writeFile } from "node:fs/promises";
import { execa } from "execa";
import { GUEST_FACTS_SCRIPT } from "../src/core/protocol/guest-protocol.js";
import { bootGuest } from "../src/machine/guest/guest-vm.js";
import { ensureGuestImage } from "../src/machine/image/guest-image.js";
import { fetchDebianKernel, resolveDebianKernel } from "../src/machine/kernel/debian-kernel.js";
import { prepareKernel } from "../src/machine/kernel/prepared-kernel.js";
import { chooseAccelerator } from "../src/core/qemu/accelerator.js";
import { readHostAccelFacts } from "../src/machine/qemu/host-accel-facts.js";
import { cacheDir } from "../src/util/paths.js";
import { makePrivateTempDir, removeDir } from "../src/util/private-dir.js";

const out = new URL("../test/fixtures/guest/", import.meta.url);
const cache = cacheDir();
const image = await ensureGuestImage(cache);
const logDir = await makePrivateTempDir("bb-record-");
for (const flavour of ["amd64", "cloud-amd64"]) {
  const kernel = await prepareKernel(
    cache,
    await fetchDebianKernel(cache, await resolveDebianKernel(flavour)),
  );
  await using guest = await bootGuest({
    qemuPath: "qemu-system-x86_64",
    accelerator: chooseAccelerator("tcg", await readHostAccelFacts()),
    kernel,
    image,
    memoryMiB: 2048,
    vcpus: 2,
    balloon: { id: "balloon0", properties: [["free-page-reporting", "on"]] },
    logDir,
    bootTimeoutMs: 60_000,
  });
  const facts = await guest.ssh.execShell(GUEST_FACTS_SCRIPT);
  await writeFile(new URL(`facts-${flavour}.txt`, out), facts.stdout);
  const status = await guest.vm.qmp.execute("x-query-virtio-status", {
    path: "/machine/peripheral/balloon0/virtio-backend",
  });
  await writeFile(
    new URL(`x-query-virtio-status-${flavour}-running.json`, out),
    `${JSON.stringify(status, null, 2)}\n`,
  );
  console.log(`recorded ${flavour}`);
}
await removeDir(logDir);
await execa("true");
