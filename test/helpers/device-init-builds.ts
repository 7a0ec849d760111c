import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { stockGuestParts } from "./guest.js";

const scripts = fileURLToPath(new URL("../../scripts/", import.meta.url));

/** Builds (first time, then from the cache) with a script; its last stdout line is the path. */
async function scriptPath(script: string, env: Record<string, string> = {}): Promise<string> {
  const result = await execa("bash", [`${scripts}${script}`], {
    env,
    stdin: "ignore",
    reject: false,
  });
  if (result.exitCode !== 0) {
    throw new Error(`${script} failed (${result.exitCode}):\n${result.stderr.slice(-3000)}`);
  }
  const path = result.stdout.trim().split("\n").at(-1) ?? "";
  if (path === "") throw new Error(`${script} printed no path:\n${result.stderr.slice(-3000)}`);
  return path;
}

let qemu: Promise<string> | undefined;
let module: Promise<string> | undefined;

/**
 * The device-init fixture QEMU (offers bits 6 and 7), built by scripts/build-test-qemu.sh with
 * `balloon-bench qemu build`: about 7 min of two idle cores the first time, cached afterwards.
 */
export function testQemu(): Promise<string> {
  qemu ??= scriptPath("build-test-qemu.sh");
  return qemu;
}

/** The device-init fixture virtio_balloon.ko, for the kernel `debian:amd64` is today. */
export function testBalloonModule(): Promise<string> {
  module ??= stockGuestParts().then(({ kernel }) =>
    scriptPath("build-test-balloon-module.sh", { BB_MODULE_KVER: kernel.release }),
  );
  return module;
}
