/**
 * The kernel build's commands and results, without running anything: make's argv and
 * environment, the stages reported as progress, what a failed build's log says. Pure.
 */
import { BalloonBenchError } from "../errors.js";
import type { PatchIdentity } from "./build-key.js";

/** A kernel to build from source, as `kernel build`, `--kernel NAME=build:` and plans give it. */
export interface KernelBuildRequest {
  /** A kernel source: a git checkout, or an unpacked source without .git. Only read. */
  readonly tree: string;
  /** A commit to build instead of the work tree (git trees only). */
  readonly ref?: string | undefined;
  /** mbox files (as `b4 am` writes them), applied in order on a copy. */
  readonly patches?: readonly string[] | undefined;
  /** A full .config to start from instead of the default guest config. */
  readonly config?: string | undefined;
  /** Config fragments merged on top, in order. */
  readonly fragments?: readonly string[] | undefined;
}

export type BuildStage = "prepare source" | "configure" | "build" | "modules_install";

/** What a build was made of, as the manifest records it. */
export interface KernelBuildIdentity {
  readonly commit?: string | undefined;
  readonly patches: readonly PatchIdentity[];
  readonly dirtyDiffSha256?: string | undefined;
  readonly contentSha256?: string | undefined;
  /**
   * sha256 over the files compiled (the source copy after the series and uncommitted changes,
   * .git left out; hashed as contentSha256 is): what the build cache is keyed by.
   */
  readonly builtSourceSha256?: string | undefined;
  readonly configSha256: string;
  readonly compiler: string;
}

/** A built kernel as results record it: where it came from and what it was made of. */
export interface BuiltKernelRecord extends KernelBuildIdentity {
  readonly tree: string;
  readonly ref?: string | undefined;
  /** The build cache entry (CACHE/kernel-builds/KEY). */
  readonly key: string;
}

export interface MakeOptions {
  readonly jobs: number;
  /** Compile through ccache (CC="ccache gcc"). */
  readonly ccache: boolean;
}

/** Variables given to every make call (configure and build alike, so Kconfig sees the same CC). */
export function makeVariables(options: Pick<MakeOptions, "ccache">): string[] {
  return [
    ...(options.ccache ? ["CC=ccache gcc"] : []),
    "KBUILD_BUILD_USER=balloon-bench",
    "KBUILD_BUILD_HOST=balloon-bench",
  ];
}

/** `make` argv (no shell) for a target list. */
export function makeArgv(targets: readonly string[], options: MakeOptions): string[] {
  return [`-j${Math.max(1, Math.floor(options.jobs))}`, ...makeVariables(options), ...targets];
}

/** The build proper: the bootable image and the modules, in one make. */
export const BUILD_TARGETS = ["bzImage", "modules"] as const;

/** modules_install into DIR: the result is DIR/lib/modules/RELEASE, depmod run by kbuild. */
export function modulesInstallArgv(installModPath: string, options: MakeOptions): string[] {
  return makeArgv(
    ["modules_install", `INSTALL_MOD_PATH=${installModPath}`, "INSTALL_MOD_STRIP=1"],
    options,
  );
}

/** A make failure: its message carries the compiler's error lines; the log stays for the rest. */
export class KernelBuildError extends BalloonBenchError {
  readonly logPath: string;
  readonly errorLines: readonly string[];
  constructor(
    message: string,
    details: { logPath: string; errorLines: readonly string[]; hint?: string },
  ) {
    super(message, details.hint === undefined ? undefined : { hint: details.hint });
    this.logPath = details.logPath;
    this.errorLines = details.errorLines;
  }
}

/**
 * The lines worth showing from a failed make's output: compiler/linker errors and make's own
 * "***" lines (at most `max`, first ones first: the first error is the cause); else the tail.
 */
export function buildErrorLines(log: string, max = 8): string[] {
  const lines = log.split("\n").map((l) => l.trimEnd());
  const errors = lines.filter(
    (l) =>
      /(^|\s|:)(fatal )?error:/i.test(l) ||
      /^make(\[\d+\])?: \*\*\*/.test(l) ||
      /undefined reference to/.test(l) ||
      /^\*\*\* /.test(l),
  );
  const unique = [...new Set(errors)];
  if (unique.length > 0) return unique.slice(0, max);
  return lines.filter((l) => l.trim() !== "").slice(-max);
}

/** The one-line message for a failed make step. */
export function describeMakeFailure(step: string, log: string, logPath: string): KernelBuildError {
  const errorLines = buildErrorLines(log);
  const shown = errorLines.slice(0, 3).join(" | ");
  return new KernelBuildError(`kernel ${step} failed: ${shown === "" ? "(no output)" : shown}`, {
    logPath,
    errorLines,
    hint: `read the full build log ${logPath}`,
  });
}

/** "12 min 3 s" */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** What building a kernel needs on the host, and the Debian package that brings each. */
export const BUILD_DEPENDENCIES: readonly {
  readonly kind: "command" | "header";
  readonly name: string;
  readonly debianPackage: string;
}[] = [
  { kind: "command", name: "make", debianPackage: "make" },
  { kind: "command", name: "gcc", debianPackage: "gcc" },
  { kind: "command", name: "ld", debianPackage: "binutils" },
  { kind: "command", name: "bc", debianPackage: "bc" },
  { kind: "command", name: "flex", debianPackage: "flex" },
  { kind: "command", name: "bison", debianPackage: "bison" },
  { kind: "command", name: "perl", debianPackage: "perl" },
  { kind: "command", name: "git", debianPackage: "git" },
  // objtool (x86 ORC unwinder) links libelf; certs/ and scripts/sign-file need OpenSSL.
  { kind: "header", name: "/usr/include/gelf.h", debianPackage: "libelf-dev" },
  { kind: "header", name: "/usr/include/openssl/opensslv.h", debianPackage: "libssl-dev" },
];

/** The packages to install for the dependencies found missing (undefined when none is). */
export function missingDependenciesHint(missing: readonly string[]): string | undefined {
  const packages = BUILD_DEPENDENCIES.filter((d) => missing.includes(d.name)).map(
    (d) => d.debianPackage,
  );
  if (packages.length === 0) return undefined;
  return `apt-get install ${[...new Set(packages)].join(" ")}`;
}
