import { createHash } from "node:crypto";
import {
  copyFile,
  chmod,
  mkdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { EnvironmentError, UsageError } from "../../core/errors.js";
import { imagesDir } from "../../util/assets.js";
import { readKernelImageHeader, sha256File } from "./kernel-image.js";
import {
  ROOT_AND_NETWORK_MODULES,
  MissingModuleError,
  initramfsFileName,
  initramfsModules,
  parseModuleIndex,
  renderModulesLoad,
  type InitramfsModule,
} from "../../core/kernel/kernel-modules.js";
import { copyModuleDecompressed, findModulesRoot } from "./modules-tree.js";
import type { BuiltKernelRecord } from "../../core/kernel/kernel-build-plan.js";
import type { KernelSpec } from "../../core/plan/kernel-spec.js";
import { ensurePvhVmlinux } from "./vmlinux.js";
import { pathExists } from "../../util/path-exists.js";

/** A kernel build made ready to boot: what QEMU needs and what results record. */
export interface PreparedKernel {
  readonly name: string;
  readonly kernelPath: string;
  /** What QEMU's -kernel gets: the extracted vmlinux for PVH boot, else the bzImage itself. */
  readonly bootKernelPath: string;
  /** "pvh": uncompressed vmlinux entered through its PVH note (no decompressor under TCG). */
  readonly bootMethod: "pvh" | "bzimage";
  readonly sha256: string;
  /** From the bzImage header; the guest's `uname -r` is checked against it. */
  readonly release: string;
  readonly versionString: string;
  readonly cmdline: readonly string[];
  /** Our busybox initramfs, when the kernel has its disk/network/ext4 drivers as modules. */
  readonly initrdPath: string | undefined;
  readonly initramfsModules: readonly string[];
  /** Read-only ext4 image of lib/modules, mounted on /lib/modules in the guest. */
  readonly modulesImagePath: string | undefined;
  /** Whether virtio_balloon is a module of this kernel (so the guest modprobes it at boot). */
  readonly balloonIsModule: boolean;
  /** For a kernel built from a source tree: commit, patches, config hash, compiler. */
  readonly built?: BuiltKernelRecord | undefined;
}

const BUSYBOX_APPLETS = [
  "sh",
  "mount",
  "umount",
  "insmod",
  "switch_root",
  "mkdir",
  "cat",
  "usleep",
  "sleep",
  "echo",
];

/**
 * Reads the kernel's header and hash, and builds (cached by kernel hash) what it needs: an
 * initramfs with the modules to reach a virtio-blk ext4 root and virtio-net, when those are
 * modules, and a read-only disk with the full modules tree so modprobe/rmmod/insmod work.
 */
export async function prepareKernel(
  cacheRoot: string,
  spec: KernelSpec,
  progress: (message: string) => void = () => undefined,
): Promise<PreparedKernel> {
  const header = await readKernelImageHeader(spec.kernelPath);
  const sha256 = await sha256File(spec.kernelPath);
  const dir = join(cacheRoot, "kernels", sha256.slice(0, 16));
  await mkdir(dir, { recursive: true });
  const pvh = await ensurePvhVmlinux(spec.kernelPath, dir);
  const base = {
    name: spec.name,
    kernelPath: spec.kernelPath,
    bootKernelPath: pvh?.vmlinuxPath ?? spec.kernelPath,
    bootMethod: pvh === undefined ? ("bzimage" as const) : ("pvh" as const),
    sha256,
    release: header.release,
    versionString: header.versionString,
    cmdline: spec.cmdline,
    ...(spec.built === undefined ? {} : { built: spec.built }),
  };
  if (spec.modulesDir === undefined) {
    // No modules: the drivers must be built in; a kernel without them fails at boot with its console shown.
    return {
      ...base,
      initrdPath: undefined,
      initramfsModules: [],
      modulesImagePath: undefined,
      balloonIsModule: false,
    };
  }
  const modulesRoot = await findModulesRoot(spec.modulesDir, header.release, dir, progress);
  const index = parseModuleIndex(
    await readFile(join(modulesRoot, "modules.dep"), "utf8"),
    await readFile(join(modulesRoot, "modules.builtin"), "utf8").catch(() => ""),
  );
  let modules: InitramfsModule[];
  try {
    modules = initramfsModules(ROOT_AND_NETWORK_MODULES, index);
  } catch (error) {
    if (error instanceof MissingModuleError) {
      throw new UsageError(`kernel ${spec.name} cannot reach its root disk: ${error.message}`, {
        hint: "build the kernel with CONFIG_VIRTIO_PCI, CONFIG_VIRTIO_BLK, CONFIG_VIRTIO_NET and CONFIG_EXT4_FS (=y or =m)",
      });
    }
    throw error;
  }
  const initrdPath =
    modules.length === 0 ? undefined : await ensureInitramfs(dir, modulesRoot, modules, progress);
  const modulesImagePath = await ensureModulesImage(dir, spec.modulesDir, modulesRoot, progress);
  return {
    ...base,
    initrdPath,
    initramfsModules: modules.map((m) => m.path),
    modulesImagePath,
    balloonIsModule: index.modules.has("virtio_balloon") && !index.builtin.has("virtio_balloon"),
  };
}

async function ensureInitramfs(
  dir: string,
  modulesRoot: string,
  modules: readonly InitramfsModule[],
  progress: (message: string) => void,
): Promise<string> {
  const init = await readFile(join(imagesDir(), "initramfs-init.sh"));
  const modulesLoad = renderModulesLoad(modules);
  // The modules' own files are part of the key: one kernel may come with several modules trees.
  const keyHash = createHash("sha256").update(init).update(modulesLoad).update(modulesRoot);
  for (const module of modules) {
    const info = await stat(join(modulesRoot, module.path));
    keyHash.update(`\0${module.path}\0${info.size}\0${info.mtimeMs}`);
  }
  const key = keyHash.digest("hex").slice(0, 16);
  const path = join(dir, `initramfs-${key}.cpio`);
  if (await pathExists(path)) return path;
  progress(`kernel: building initramfs with ${modules.length} modules`);
  const stage = `${path}.stage-${process.pid}`;
  await rm(stage, { recursive: true, force: true });
  try {
    for (const sub of ["bin", "lib/modules", "etc", "proc", "sys", "dev", "newroot"])
      await mkdir(join(stage, sub), { recursive: true });
    await copyFile("/bin/busybox", join(stage, "bin/busybox"));
    await chmod(join(stage, "bin/busybox"), 0o755);
    for (const applet of BUSYBOX_APPLETS) await symlink("busybox", join(stage, "bin", applet));
    await writeFile(join(stage, "init"), init, { mode: 0o755 });
    for (const module of modules) {
      const to = join(stage, "lib/modules", initramfsFileName(module.path));
      await copyModuleDecompressed(join(modulesRoot, module.path), to);
    }
    await writeFile(join(stage, "etc/modules.load"), modulesLoad);
    // The kernel opens /dev/console for init's stdio before init can mount devtmpfs.
    await execa("mknod", ["-m", "600", join(stage, "dev/console"), "c", "5", "1"], {
      reject: false,
    });
    const { stdout: list } = await execa("find", [".", "-mindepth", "1"], { cwd: stage });
    const sorted = `${list.split("\n").sort().join("\n")}\n`;
    await execa("cpio", ["-o", "-H", "newc", "--quiet", "-R", "0:0", "-O", `${path}.tmp`], {
      cwd: stage,
      input: sorted,
    });
    await rename(`${path}.tmp`, path);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  return path;
}

async function ensureModulesImage(
  dir: string,
  modulesDir: string,
  modulesRoot: string,
  progress: (message: string) => void,
): Promise<string> {
  const key = createHash("sha256").update(modulesRoot).digest("hex").slice(0, 12);
  const path = join(dir, `modules-${key}.img`);
  if (await pathExists(path)) return path;
  const { stdout } = await execa("du", ["-s", "-B1M", "--apparent-size", modulesRoot]);
  const usedMiB = Number(stdout.split(/\s+/)[0] ?? "0");
  const sizeMiB = Math.ceil(usedMiB * 1.15) + 32;
  progress(`kernel: building the modules disk (${sizeMiB} MiB)`);
  // The disk's top level is RELEASE/..., mounted on /lib/modules in the guest.
  const parent = join(modulesRoot, "..");
  const result = await execa(
    "mke2fs",
    [
      "-q",
      "-F",
      "-t",
      "ext4",
      "-L",
      "bb-modules",
      "-m",
      "0",
      "-O",
      "^has_journal",
      "-E",
      "root_owner=0:0",
      "-d",
      parent,
      `${path}.tmp`,
      `${sizeMiB}M`,
    ],
    { reject: false },
  );
  if (result.exitCode !== 0) {
    await rm(`${path}.tmp`, { force: true });
    throw new EnvironmentError(
      `mke2fs failed to pack the modules tree ${modulesDir}: ${result.stderr.split("\n")[0] ?? ""}`,
    );
  }
  await rename(`${path}.tmp`, path);
  return path;
}
