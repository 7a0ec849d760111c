/**
 * Where a kernel's modules live in the tree a user passes as `modules=DIR`, and how depmod is
 * run on it. Layouts seen in practice:
 *   lib      DIR/lib/modules/RELEASE      (`make modules_install INSTALL_MOD_PATH=DIR`, Debian 12)
 *   usr-lib  DIR/usr/lib/modules/RELEASE  (merged /usr: Debian 13, Fedora, Arch)
 *   modules  DIR/RELEASE                  (DIR is a lib/modules folder itself)
 *   release  DIR                          (DIR is the RELEASE folder itself)
 * depmod's -b BASE wants BASE/lib/modules/RELEASE, so for usr-lib the base is DIR/usr (the folder
 * that holds lib/modules), not DIR/usr/lib/modules. Pure (path arithmetic only).
 */
import { posix } from "node:path";

export type ModulesLayoutKind = "lib" | "usr-lib" | "modules" | "release";

export interface ModulesLayout {
  readonly kind: ModulesLayoutKind;
  /** The folder holding the modules and modules.* files: .../lib/modules/RELEASE. */
  readonly releaseDir: string;
  /** Relative path of releaseDir inside the root depmod is given ("lib/modules/RELEASE"...). */
  readonly relativeReleaseDir: string;
  /** depmod's -b for this layout, when the path has one (a lib/modules/RELEASE suffix). */
  readonly depmodBase: string | undefined;
}

/** The layouts to probe for `release` under `modulesDir`, most specific first. */
export function modulesLayoutCandidates(modulesDir: string, release: string): ModulesLayout[] {
  const dir = posix.normalize(modulesDir).replace(/\/+$/, "") || "/";
  const out: ModulesLayout[] = [
    {
      kind: "lib",
      releaseDir: posix.join(dir, "lib/modules", release),
      relativeReleaseDir: posix.join("lib/modules", release),
      depmodBase: dir,
    },
    {
      kind: "usr-lib",
      releaseDir: posix.join(dir, "usr/lib/modules", release),
      relativeReleaseDir: posix.join("usr/lib/modules", release),
      depmodBase: posix.join(dir, "usr"),
    },
    {
      kind: "modules",
      releaseDir: posix.join(dir, release),
      relativeReleaseDir: release,
      depmodBase: dir.endsWith("/lib/modules") ? posix.dirname(posix.dirname(dir)) : undefined,
    },
  ];
  if (posix.basename(dir) === release) {
    const parent = posix.dirname(dir);
    out.push({
      kind: "release",
      releaseDir: dir,
      relativeReleaseDir: release,
      depmodBase: parent.endsWith("/lib/modules")
        ? posix.dirname(posix.dirname(parent))
        : undefined,
    });
  }
  return out;
}

/**
 * Where depmod writes for a layout copied under `root` (the copy keeps the user's layout):
 * releaseDir = root/relativeReleaseDir, base = the folder that holds lib/modules.
 */
export function layoutUnder(root: string, layout: ModulesLayout, release: string): ModulesLayout {
  const rel =
    layout.kind === "usr-lib"
      ? posix.join("usr/lib/modules", release)
      : posix.join("lib/modules", release);
  return {
    kind: layout.kind === "usr-lib" ? "usr-lib" : "lib",
    releaseDir: posix.join(root, rel),
    relativeReleaseDir: rel,
    depmodBase: layout.kind === "usr-lib" ? posix.join(root, "usr") : root,
  };
}

/** depmod's argv (no shell) for a base and release: `depmod -b BASE RELEASE`. */
export function depmodArgv(base: string, release: string): string[] {
  return base === "/" ? [release] : ["-b", base, release];
}

/** The command a user would run on their own tree (for messages). */
export function depmodCommand(layout: ModulesLayout, release: string): string | undefined {
  return layout.depmodBase === undefined
    ? undefined
    : `depmod ${depmodArgv(layout.depmodBase, release).join(" ")}`;
}
