import { generateKeyPairSync } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { expect } from "chai";
import { execa } from "execa";
import {
  BalloonTimeoutError,
  MiB,
  moveBalloon,
  queryBalloonActualBytes,
  readRssBytes,
  setGuestStatsPolling,
  waitForGuestMemoryStats,
} from "../../src/machine/balloon/balloon-control.js";
import { decodeSysfsFeatureString } from "../../src/core/balloon/device-features.js";
import { GuestCommandError, HostKeyMismatchError } from "../../src/machine/guest/guest-errors.js";
import { GuestSsh } from "../../src/machine/guest/guest-ssh.js";
import { bootGuest, type GuestVm } from "../../src/machine/guest/guest-vm.js";
import { parseOpenSshPublicKey } from "../../src/core/protocol/host-key.js";
import type { GuestImage } from "../../src/machine/image/guest-image.js";
import type { PreparedKernel } from "../../src/machine/kernel/prepared-kernel.js";
import { chooseAccelerator } from "../../src/core/qemu/accelerator.js";
import { readHostAccelFacts } from "../../src/machine/qemu/host-accel-facts.js";
import { makePrivateTempDir, removeDir } from "../../src/util/private-dir.js";
import { stockGuestParts } from "../helpers/guest.js";
import { QEMU_BUILD_TIMEOUT_MS, QEMU_VARIANTS } from "../helpers/qemu-variants.js";

for (const variant of QEMU_VARIANTS) {
  describe(`a real guest under TCG (${variant.label}): boot, SSH, modules @integration`, function () {
    this.timeout(300_000);
    let image: GuestImage;
    let kernel: PreparedKernel;
    let guest: GuestVm;
    let logDir: string;
    let baseBefore: { size: number; mtimeMs: number };

    before(async function () {
      this.timeout(QEMU_BUILD_TIMEOUT_MS);
      const qemuPath = await variant.path();
      ({ image, kernel } = await stockGuestParts());
      const info = await stat(image.basePath);
      baseBefore = { size: info.size, mtimeMs: info.mtimeMs };
      logDir = await makePrivateTempDir("bb-guest-test-");
      guest = await bootGuest({
        qemuPath,
        accelerator: chooseAccelerator("tcg", await readHostAccelFacts()),
        kernel,
        image,
        memoryMiB: 1024,
        vcpus: 2,
        balloon: { id: "balloon0", properties: [["free-page-reporting", "on"]] },
        logDir,
        bootTimeoutMs: 120_000,
      });
    });

    after(async () => {
      await guest?.stop();
      await removeDir(logDir);
    });

    it("boots the Debian kernel through PVH and answers SSH as that kernel", async () => {
      expect(kernel.bootMethod).to.equal("pvh");
      expect((await guest.ssh.run(["uname", "-r"])).trim()).to.equal(kernel.release);
      expect(await readFile(guest.vm.consolePath ?? "", "utf8")).to.contain(
        "balloon-bench: sshd ready",
      );
    });

    it("forwards SSH from 127.0.0.1 only", async () => {
      const { stdout } = await execa("ss", ["-Hltn", `sport = :${guest.sshPort}`]);
      expect(stdout.trim().split(/\s+/)[3]).to.equal(`127.0.0.1:${guest.sshPort}`);
    });

    it("refuses a guest whose host key is not the pinned one", async () => {
      const { publicKey } = generateKeyPairSync("ed25519");
      const der = publicKey.export({ type: "spki", format: "der" });
      const raw = der.subarray(der.length - 32);
      const blob = Buffer.concat([lengthPrefixed(Buffer.from("ssh-ed25519")), lengthPrefixed(raw)]);
      const wrongKey = parseOpenSshPublicKey(`ssh-ed25519 ${blob.toString("base64")}`);
      const error = await GuestSsh.connectOnce({
        port: guest.sshPort,
        privateKey: await readFile(image.clientKeyPath),
        hostKey: wrongKey,
      }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(HostKeyMismatchError);
      expect((error as Error).message).to.match(
        /^guest SSH host key SHA256:\S+ does not match the pinned key SHA256:\S+$/,
      );
    });

    it("passes arguments through the guest's shell unchanged", async () => {
      const nasty = ["a b", "it's", "$(id)", "`id`", "*", "x;y", 'q"q', "new\nline"];
      const out = await guest.ssh.run(["printf", "%s\\0", ...nasty]);
      expect(out.split("\0").slice(0, -1)).to.deep.equal(nasty);
    });

    it("reports a failing command's exit code and stderr", async () => {
      const error = await guest.ssh
        .run(["sh", "-c", "echo oops >&2; exit 7"])
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(GuestCommandError);
      expect((error as GuestCommandError).exitCode).to.equal(7);
      expect((error as GuestCommandError).stderr).to.equal("oops\n");
    });

    it("uploads a file and verifies it by sha256 in the guest", async () => {
      const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
      await guest.ssh.writeFile("/tmp/upload.bin", data, 0o600);
      expect((await guest.ssh.readFile("/tmp/upload.bin")).equals(data)).to.equal(true);
      expect((await guest.ssh.run(["stat", "-c", "%a", "/tmp/upload.bin"])).trim()).to.equal("600");
    });

    it("has the full modules tree: rmmod and insmod virtio_balloon as bench.sh does", async () => {
      const ko = `/lib/modules/${kernel.release}/kernel/drivers/virtio/virtio_balloon.ko`;
      await guest.ssh.run(["rmmod", "virtio_balloon"]);
      await guest.ssh.run(["insmod", ko]);
      const features = await guest.ssh.run([
        "sh",
        "-c",
        'for d in /sys/bus/virtio/devices/*; do [ "$(cat $d/device)" = 0x0005 ] && cat $d/features; done',
      ]);
      // QEMU offers page-poison (bit 4) by default; the driver accepts it only with page poisoning on.
      expect(decodeSysfsFeatureString(features)).to.deep.equal([1, 5]);
      expect((await guest.ssh.run(["modprobe", "-n", "-v", "virtio_mem"])).trim()).to.contain(
        "virtio_mem.ko",
      );
    });

    it("inflates and deflates the balloon over QMP, waiting until actual reaches the target", async () => {
      const qmp = guest.vm.qmp;
      const full = await queryBalloonActualBytes(qmp);
      expect(full).to.equal(1024 * MiB);
      const rssBefore = await readRssBytes(guest.vm.pid);
      const seen: number[] = [];
      const inflate = await moveBalloon(qmp, 768 * MiB, {
        timeoutMs: 60_000,
        onProgress: (b) => seen.push(b),
      });
      expect(inflate).to.include({
        fromBytes: full,
        targetBytes: 768 * MiB,
        actualBytes: 768 * MiB,
      });
      expect(seen.at(-1)).to.equal(768 * MiB);
      const memTotalKiB = Number(
        /MemTotal:\s+(\d+)/.exec(await guest.ssh.run(["cat", "/proc/meminfo"]))?.[1],
      );
      const deflate = await moveBalloon(qmp, full, { timeoutMs: 60_000 });
      expect(deflate).to.include({ fromBytes: 768 * MiB, actualBytes: full });
      // The driver takes inflated pages out of MemTotal (no deflate-on-oom here).
      const memTotalAfterKiB = Number(
        /MemTotal:\s+(\d+)/.exec(await guest.ssh.run(["cat", "/proc/meminfo"]))?.[1],
      );
      expect(memTotalAfterKiB - memTotalKiB).to.equal(256 * 1024);
      expect(rssBefore).to.be.greaterThan(0);
    });

    it("reports a balloon that cannot reach its target with how far it got", async () => {
      // 8 MiB of guest memory cannot be reached: the driver stops when the guest runs low.
      const error = await moveBalloon(guest.vm.qmp, 8 * MiB, { timeoutMs: 3_000 }).catch(
        (e: unknown) => e,
      );
      await moveBalloon(guest.vm.qmp, 1024 * MiB, { timeoutMs: 60_000 });
      expect(error).to.be.instanceOf(BalloonTimeoutError);
      expect((error as Error).message).to.match(
        /^balloon did not reach 8 MiB in 3 s: actual is \d+ MiB \(from 1024 MiB, \d+ % of the way\)$/,
      );
    });

    it("reads guest memory statistics through the balloon device", async () => {
      await setGuestStatsPolling(guest.vm.qmp, 1);
      const stats = await waitForGuestMemoryStats(guest.vm.qmp, { timeoutMs: 15_000 });
      expect(stats.stats["total-memory"]).to.be.within(900 * MiB, 1024 * MiB);
      expect(stats.stats["free-memory"]).to.be.greaterThan(0);
    });

    it("never writes the base image (the guest writes to its own overlay)", async () => {
      await guest.ssh.run([
        "sh",
        "-c",
        "dd if=/dev/zero of=/root/scratch bs=1M count=8 status=none && sync",
      ]);
      const info = await stat(image.basePath);
      expect({ size: info.size, mtimeMs: info.mtimeMs }).to.deep.equal(baseBefore);
    });
  });

  function lengthPrefixed(buffer: Buffer): Buffer {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(buffer.length);
    return Buffer.concat([length, buffer]);
  }
}
