import { access, lstat, mkdir, mkdtemp, readdir, rm, statfs, writeFile } from "node:fs/promises";
import { constants } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { execa } from "execa";
import { chooseAccelerator, guestPmu, kvmUsability } from "../core/qemu/accelerator.js";
import { readHostAccelFacts } from "./qemu/host-accel-facts.js";
import { rootlessProblem } from "./image/rootfs.js";
import { findOnPath, readQemuBinaryInfo, resolveQemuBinary } from "./qemu/qemu-binary.js";
import { cacheDir } from "../util/paths.js";
import type { DoctorCheck } from "../core/doctor/doctor-checks.js";
import { hostStateChecks } from "../core/doctor/host-checks.js";
import { readHostState } from "./host/read-host-state.js";

const INSTALL_FIX = "run `sudo bash scripts/install-deps.sh`";
const MIN_FREE_BYTES = 2 * 1024 ** 3;
const WANT_FREE_BYTES = 4 * 1024 ** 3;

export interface DoctorOptions {
  readonly qemu?: string | undefined;
  /** Where /sys and /proc are read from: "/" (a recorded tree in tests). */
  readonly hostRoot?: string | undefined;
}

/** Runs every check; never throws for a failed check, only reports it. */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  checks.push(...(await checkQemu(options.qemu)));
  checks.push(...(await checkAccelerators()));
  checks.push(
    await checkTool("qemu-img", "qemu-img", "makes copy-on-write overlays of the guest image"),
  );
  checks.push(
    await checkTool("setpriv", "setpriv", "kills QEMU if balloon-bench itself is killed"),
  );
  checks.push(await checkTool("taskset", "taskset", "pins vCPU threads to host CPUs (--pin)"));
  for (const [name, command, why] of IMAGE_TOOLS) checks.push(await checkTool(name, command, why));
  checks.push(await checkStaticGcc());
  checks.push(await checkPerf());
  checks.push(...(await checkCache()));
  checks.push(await checkImageBuild());
  // The host settings that make timings noisy (governor, boost, SMT, THP, KSM, NUMA, load).
  checks.push(...hostStateChecks(await readHostState(options.hostRoot ?? "/")));
  return checks;
}

/** As a normal user the image is built in a user namespace: can this user? */
async function checkImageBuild(): Promise<DoctorCheck> {
  if (typeof process.getuid !== "function" || process.getuid() === 0)
    return {
      name: "image build",
      status: "ok",
      detail: "as root (mmdebstrap writes real ownership)",
    };
  const problem = await rootlessProblem();
  return problem === undefined
    ? {
        name: "image build",
        status: "ok",
        detail: "without root: mmdebstrap --mode=unshare (user namespace) and fakeroot",
      }
    : {
        name: "image build",
        status: "fail",
        detail: `cannot build the image as this user: ${problem.problem}`,
        fix: problem.fix,
      };
}

/** Entries of the cache another user owns (an earlier `sudo balloon-bench ...` leaves them). */
async function foreignEntries(dir: string): Promise<string[]> {
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  if (uid === undefined) return [];
  const foreign: string[] = [];
  for (const entry of await readdir(dir).catch(() => [])) {
    const info = await lstat(join(dir, entry)).catch(() => undefined);
    if (info !== undefined && info.uid !== uid) foreign.push(join(dir, entry));
  }
  return foreign;
}

const IMAGE_TOOLS: readonly (readonly [string, string, string])[] = [
  ["mmdebstrap", "mmdebstrap", "builds the guest root filesystem from Debian packages"],
  ["mke2fs", "mke2fs", "makes the guest's ext4 image without a loop mount"],
  ["cpio", "cpio", "packs the per-kernel initramfs"],
  ["busybox", "busybox", "runs the initramfs that loads virtio and ext4 modules"],
  ["depmod", "depmod", "indexes kernel modules for modprobe in the guest"],
  ["dpkg-deb", "dpkg-deb", "unpacks Debian kernel packages without installing them"],
  ["apt-get", "apt-get", "fetches Debian's stock kernel package"],
  ["ssh-keygen", "ssh-keygen", "makes the image's pinned host key and client key"],
  ["xz", "xz", "unpacks xz kernel payloads for fast PVH boot"],
  ["lz4", "lz4", "unpacks lz4 kernel payloads for fast PVH boot"],
];

async function checkQemu(requested: string | undefined): Promise<DoctorCheck[]> {
  try {
    const path = await resolveQemuBinary(requested);
    const info = await readQemuBinaryInfo(path);
    const accelHelp = await execa(path, ["-accel", "help"], { reject: false, timeout: 10_000 });
    const hasTcg = /^tcg$/m.test(accelHelp.stdout);
    return [
      { name: "qemu", status: "ok", detail: `${path}: ${info.versionLine}` },
      hasTcg
        ? {
            name: "tcg",
            status: "ok",
            detail: "QEMU has the TCG accelerator (always bootable, slow)",
          }
        : {
            name: "tcg",
            status: "fail",
            detail: "QEMU lists no TCG accelerator",
            fix: "install Debian's qemu-system-x86",
          },
    ];
  } catch (error) {
    return [{ name: "qemu", status: "fail", detail: (error as Error).message, fix: INSTALL_FIX }];
  }
}

async function checkAccelerators(): Promise<DoctorCheck[]> {
  const facts = await readHostAccelFacts();
  const kvm = kvmUsability(facts);
  const auto = chooseAccelerator("auto", facts);
  return [
    kvm.usable
      ? { name: "kvm", status: "ok", detail: `KVM can boot stock kernels: ${kvm.reason}` }
      : {
          name: "kvm",
          status: "warn",
          detail: `KVM is not usable for stock kernels: ${kvm.reason}`,
          fix:
            kvm.fix ??
            "use a host with kvm_intel/kvm_amd for timings you can compare; here guests run under TCG",
        },
    {
      name: "accel auto",
      status: "ok",
      detail: `--accel auto chooses ${auto.accelerator} (${auto.reason})`,
    },
    guestPmuCheck(auto),
  ];
}

/** Whether perf in the guest can count hardware events with the accelerator auto chooses. */
function guestPmuCheck(auto: ReturnType<typeof chooseAccelerator>): DoctorCheck {
  const pmu = guestPmu(auto);
  return pmu.visible
    ? { name: "guest pmu", status: "ok", detail: pmu.reason }
    : {
        name: "guest pmu",
        status: "warn",
        detail: `${pmu.reason}: only software events (task-clock) are measured`,
        fix: "run on a KVM host (kvm_intel/kvm_amd) for instructions and cache-misses",
      };
}

async function checkTool(name: string, command: string, why: string): Promise<DoctorCheck> {
  const path = await findOnPath(command, `${process.env["PATH"] ?? ""}:/usr/sbin:/sbin`);
  return path === undefined
    ? { name, status: "fail", detail: `not found (${why})`, fix: INSTALL_FIX }
    : { name, status: "ok", detail: path };
}

async function checkStaticGcc(): Promise<DoctorCheck> {
  const dir = await mkdtemp(join(tmpdir(), "bb-doctor-"));
  try {
    await writeFile(join(dir, "t.c"), "int main(void) { return 0; }\n");
    const result = await execa("gcc", ["-static", "-O2", "-o", join(dir, "t"), join(dir, "t.c")], {
      reject: false,
      timeout: 60_000,
    });
    return result.exitCode === 0
      ? {
          name: "gcc -static",
          status: "ok",
          detail: "builds static binaries (alloc_once is uploaded as one)",
        }
      : {
          name: "gcc -static",
          status: "fail",
          detail: `cannot link a static binary: ${String(result.stderr || result.message).split("\n")[0] ?? ""}`,
          fix: INSTALL_FIX,
        };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function checkPerf(): Promise<DoctorCheck> {
  const path = await findOnPath("perf");
  return path === undefined
    ? {
        name: "perf (host)",
        status: "warn",
        detail:
          "not found; only needed to read perf.data from `profile` on the host (the guest image has its own perf)",
        fix: INSTALL_FIX,
      }
    : { name: "perf (host)", status: "ok", detail: path };
}

async function checkCache(): Promise<DoctorCheck[]> {
  const dir = cacheDir();
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await access(dir, constants.W_OK);
  } catch (error) {
    return [
      {
        name: "cache dir",
        status: "fail",
        detail: `${dir} is not writable: ${(error as Error).message}`,
        fix: "set XDG_CACHE_HOME to a writable directory",
      },
    ];
  }
  const foreign = await foreignEntries(dir);
  if (foreign.length > 0) {
    return [
      {
        name: "cache dir",
        status: "fail",
        detail: `${foreign.join(", ")} in ${dir} belong${foreign.length === 1 ? "s" : ""} to another user (an earlier sudo?)`,
        fix: `sudo chown -R "$(id -u):$(id -g)" ${dir}`,
      },
    ];
  }
  const fs = await statfs(dir);
  const freeBytes = fs.bavail * fs.bsize;
  const freeGiB = (freeBytes / 1024 ** 3).toFixed(1);
  const space: DoctorCheck =
    freeBytes < MIN_FREE_BYTES
      ? {
          name: "disk space",
          status: "fail",
          detail: `${freeGiB} GiB free under ${dir}; the image and kernels need ~2 GiB`,
          fix: "free disk space or set XDG_CACHE_HOME elsewhere",
        }
      : freeBytes < WANT_FREE_BYTES
        ? {
            name: "disk space",
            status: "warn",
            detail: `${freeGiB} GiB free under ${dir}; 4 GiB recommended`,
            fix: "free disk space or set XDG_CACHE_HOME elsewhere",
          }
        : { name: "disk space", status: "ok", detail: `${freeGiB} GiB free under ${dir}` };
  return [{ name: "cache dir", status: "ok", detail: `${dir} (writable)` }, space];
}
