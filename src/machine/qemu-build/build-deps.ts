import { execa } from "execa";
import { EnvironmentError } from "../../core/errors.js";
import { versionAtLeast } from "../../core/qemu-build/qemu-build-recipe.js";
import { findOnPath } from "../qemu/qemu-binary.js";
import type { QemuTree } from "./qemu-tree.js";

export type BuildEnv = Readonly<Record<string, string | undefined>>;

/** What configure and ninja need on the host: commands (with their Debian package). */
const COMMANDS: readonly (readonly [string, string])[] = [
  ["cc", "gcc"],
  ["ninja", "ninja-build"],
  ["pkg-config", "pkg-config"],
  ["python3", "python3"],
];

/** pkg-config modules of the features the tool needs (glib, pixman, slirp, zlib). */
const LIBRARIES: readonly (readonly [string, string])[] = [
  ["glib-2.0", "libglib2.0-dev"],
  ["pixman-1", "libpixman-1-dev"],
  ["slirp", "libslirp-dev"],
  ["zlib", "zlib1g-dev"],
];

function missing(what: string, fix: string): EnvironmentError {
  return new EnvironmentError(`building QEMU needs ${what}, which is missing`, { hint: fix });
}

/** Names the first missing build dependency (one-line EnvironmentError); returns python3's path. */
export async function checkBuildDeps(tree: QemuTree, env: BuildEnv): Promise<string> {
  const path = env["PATH"] ?? "";
  let python = "";
  for (const [command, pkg] of COMMANDS) {
    const found = await findOnPath(command, path);
    if (found === undefined) throw missing(`'${command}'`, `apt-get install ${pkg}`);
    if (command === "python3") python = found;
  }
  for (const [module, pkg] of LIBRARIES) {
    const probe = await execa("pkg-config", ["--exists", module], { env, reject: false });
    if (probe.exitCode !== 0) {
      throw missing(`the library ${module} (pkg-config)`, `apt-get install ${pkg}`);
    }
  }
  const venv = await execa(python, ["-c", "import venv, ensurepip"], { env, reject: false });
  if (venv.exitCode !== 0)
    throw missing(`Python's venv (${python})`, "apt-get install python3-venv");
  if (!tree.bundlesMeson && tree.mesonRequired !== undefined) {
    await checkMeson(python, tree.mesonRequired, env);
  }
  return python;
}

async function checkMeson(python: string, required: string, env: BuildEnv): Promise<void> {
  const probe = await execa(python, ["-c", "import mesonbuild.coredata as c; print(c.version)"], {
    env,
    reject: false,
  });
  const found = probe.exitCode === 0 ? String(probe.stdout).trim() : undefined;
  if (found !== undefined && versionAtLeast(found, required)) return;
  throw missing(
    `meson >= ${required} importable by ${python} (found: ${found ?? "none"}; the tree bundles no meson wheel)`,
    "install a newer meson, or put one on PYTHONPATH (scripts/build-test-qemu.sh unpacks Debian 13's meson for this)",
  );
}
