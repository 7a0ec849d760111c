import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { EnvironmentError, UsageError } from "../../core/errors.js";
import type { KernelSpec } from "../../core/plan/kernel-spec.js";
import { depmodArgv, modulesLayoutCandidates } from "../../core/kernel/modules-layout.js";
import { pathExists } from "../../util/path-exists.js";

/** A Debian kernel flavour's metapackage: `amd64` → linux-image-amd64. */
export const DEFAULT_DEBIAN_FLAVOUR = "amd64";
const FLAVOUR = /^[a-z0-9][a-z0-9-]*$/;

export interface DebianKernelPackage {
  readonly flavour: string;
  /** e.g. linux-image-6.1.0-56-amd64 */
  readonly packageName: string;
  /** e.g. 6.1.192-2 */
  readonly version: string;
}

/** Pure: the image package a `linux-image-FLAVOUR` metapackage depends on, from `apt-cache show`. */
export function parseMetapackageDepends(
  flavour: string,
  aptCacheShow: string,
): DebianKernelPackage {
  const depends = /^Depends:\s*(.+)$/m.exec(aptCacheShow)?.[1] ?? "";
  const match = new RegExp(
    `(linux-image-[0-9][^\\s,(]*-${flavour.replace(/[-]/g, "\\-")})\\s*\\(=\\s*([^)\\s]+)\\)`,
  ).exec(depends);
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new EnvironmentError(
      `could not find the kernel package behind linux-image-${flavour} in apt's metadata`,
      {
        hint: "run `apt-get update`, or pass --kernel NAME=PATH",
      },
    );
  }
  return { flavour, packageName: match[1], version: match[2] };
}

/** Asks apt which package `linux-image-FLAVOUR` currently stands for. */
export async function resolveDebianKernel(
  flavour = DEFAULT_DEBIAN_FLAVOUR,
): Promise<DebianKernelPackage> {
  if (!FLAVOUR.test(flavour)) {
    throw new UsageError(`'${flavour}' is not a Debian kernel flavour name`, {
      hint: "use e.g. debian:amd64 or debian:cloud-amd64",
    });
  }
  const result = await execa("apt-cache", ["show", "--no-all-versions", `linux-image-${flavour}`], {
    reject: false,
  });
  if (result.exitCode !== 0 || result.stdout.trim() === "") {
    // With package lists that know the default flavour, an unknown one is the user's typo.
    const known = await execa(
      "apt-cache",
      ["show", "--no-all-versions", `linux-image-${DEFAULT_DEBIAN_FLAVOUR}`],
      {
        reject: false,
      },
    );
    if (known.exitCode === 0 && known.stdout.trim() !== "") {
      throw new UsageError(
        `Debian has no kernel flavour '${flavour}' (no package linux-image-${flavour})`,
        {
          hint: "use a flavour such as debian:amd64, debian:cloud-amd64 or debian:rt-amd64 (`apt-cache search linux-image-`)",
        },
      );
    }
    throw new EnvironmentError(`apt knows no package linux-image-${flavour}`, {
      hint: "run `apt-get update` (Debian's package lists), or check the flavour name",
    });
  }
  return parseMetapackageDepends(flavour, result.stdout);
}

/**
 * Fetches a Debian kernel package with `apt-get download` and unpacks it with `dpkg-deb -x`
 * into the cache (never installed on the host), then runs `depmod -b` because the package ships
 * no modules.dep. Returns a kernel build named after the package.
 */
export async function fetchDebianKernel(
  cacheRoot: string,
  pkg: DebianKernelPackage,
  name?: string,
): Promise<KernelSpec & { readonly release: string }> {
  const release = pkg.packageName.replace(/^linux-image-/, "");
  const dir = join(cacheRoot, "kernels", "debian", `${pkg.packageName}_${pkg.version}`);
  const tree = join(dir, "tree");
  const kernelPath = join(tree, "boot", `vmlinuz-${release}`);
  const spec = {
    name: name ?? `debian-${release}`,
    kernelPath,
    modulesDir: tree,
    cmdline: [],
    release,
  };
  if (await pathExists(join(dir, "complete"))) return spec;

  await rm(dir, { recursive: true, force: true });
  const work = `${dir}.tmp-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const download = await execa("apt-get", ["download", `${pkg.packageName}=${pkg.version}`], {
      cwd: work,
      reject: false,
    });
    if (download.exitCode !== 0) {
      throw new EnvironmentError(
        `apt-get download ${pkg.packageName}=${pkg.version} failed: ${lastLine(download.stderr)}`,
        {
          hint: "check that Debian's package mirror is reachable and run `apt-get update`",
        },
      );
    }
    const deb = (await readdir(work)).find((f) => f.endsWith(".deb"));
    if (deb === undefined) throw new EnvironmentError(`apt-get download left no .deb in ${work}`);
    await execa("dpkg-deb", ["-x", join(work, deb), join(work, "tree")]);
    await rm(join(work, deb));
    // Merged-/usr packages (Debian 13) keep modules in usr/lib/modules: depmod's base is usr/.
    const layouts = modulesLayoutCandidates(join(work, "tree"), release).slice(0, 2);
    let base = join(work, "tree");
    for (const layout of layouts) {
      if (layout.depmodBase !== undefined && (await pathExists(layout.releaseDir))) {
        base = layout.depmodBase;
        break;
      }
    }
    await execa("depmod", depmodArgv(base, release));
    await execa("touch", [join(work, "complete")]);
    await rename(work, dir);
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
  return spec;
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}
