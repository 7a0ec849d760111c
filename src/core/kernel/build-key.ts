/**
 * What identifies a kernel build, and the cache keys made of it. Pure.
 *
 * Two keys: the *input key* (source identity + the config inputs + compiler) is known before
 * anything is configured, so a repeated call finds its build at once; the *build key* (content
 * of the source as compiled + hash of the final .config + compiler) names the cache entry, so two
 * ways of naming the same files, or two config inputs that end in the same .config, share one
 * build.
 */
import { createHash } from "node:crypto";

/** Bump when the build steps change in a way the identity does not capture. */
export const BUILD_FORMAT = 2;

export interface PatchIdentity {
  readonly subject: string;
  readonly sha256: string;
}

export type SourceIdentity =
  | {
      readonly kind: "git";
      /** The commit built (the work tree's HEAD, or --ref resolved). */
      readonly commit: string;
      /** sha256 of the work tree's uncommitted changes (tracked diff + untracked files), if any. */
      readonly dirtyDiffSha256?: string | undefined;
      readonly patches: readonly PatchIdentity[];
    }
  | {
      readonly kind: "tree";
      /** sha256 over every file's path, mode and content of an unpacked source without .git. */
      readonly contentSha256: string;
      readonly patches: readonly PatchIdentity[];
    };

/** What the configuration was made from (the final .config's hash comes later). */
export interface ConfigInputs {
  /** "default" (the tool's guest recipe, identified by its text) or the user's --config hash. */
  readonly base:
    | { readonly kind: "default"; readonly recipe: string }
    | { readonly kind: "config"; readonly sha256: string };
  /** sha256 of each --fragment, in order. */
  readonly fragments: readonly string[];
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

function sourcePart(source: SourceIdentity): unknown {
  return source.kind === "git"
    ? {
        kind: "git",
        commit: source.commit,
        dirty: source.dirtyDiffSha256,
        patches: source.patches.map((p) => p.sha256),
      }
    : { kind: "tree", content: source.contentSha256, patches: source.patches.map((p) => p.sha256) };
}

/** Known before configuring: finds a finished build without running make at all. */
export function inputKey(source: SourceIdentity, config: ConfigInputs, compiler: string): string {
  // -j and ccache are not part of it: they do not change what is built.
  return sha256Hex(
    canonical({ format: BUILD_FORMAT, source: sourcePart(source), config, compiler }),
  ).slice(0, 24);
}

/**
 * Known once the source copy is made (before configuring): finds the build of the same files
 * made from the same config inputs under another name (a commit and an unpacked copy of it).
 */
export function filesInputKey(
  builtSourceSha256: string,
  config: ConfigInputs,
  compiler: string,
): string {
  return sha256Hex(
    canonical({ format: BUILD_FORMAT, files: builtSourceSha256, config, compiler }),
  ).slice(0, 24);
}

/**
 * Names the cache entry: the files compiled (the source copy with the series applied, without
 * .git), the final .config, the compiler. Not how the source was named: a commit and an unpacked
 * copy of it, or a series applied to either, are one build.
 */
export function buildKey(
  builtSourceSha256: string,
  finalConfigSha256: string,
  compiler: string,
): string {
  return sha256Hex(
    canonical({
      format: BUILD_FORMAT,
      source: builtSourceSha256,
      config: finalConfigSha256,
      compiler,
    }),
  ).slice(0, 24);
}

/** "gcc (Debian 12.2.0-14+deb12u1) 12.2.0 / GNU ld (GNU Binutils for Debian) 2.40". */
export function compilerIdentity(ccVersionOutput: string, ldVersionOutput: string): string {
  const first = (text: string): string => text.trim().split("\n")[0]?.trim() ?? "";
  return [first(ccVersionOutput), first(ldVersionOutput)].filter((s) => s !== "").join(" / ");
}

export interface TreeEntry {
  /** Relative, "/"-separated. */
  readonly path: string;
  /** "f" regular, "x" executable, "l" symlink. */
  readonly type: "f" | "x" | "l";
  /** sha256 of the content (of the link target for a symlink). */
  readonly sha256: string;
}

/** The content hash of a tree: over sorted (path, type, content hash) triples. */
export function treeContentSha256(entries: readonly TreeEntry[]): string {
  const hash = createHash("sha256");
  for (const e of [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)))
    hash.update(`${e.type} ${e.sha256} ${e.path}\n`);
  return hash.digest("hex");
}

/**
 * The identity of a git work tree's uncommitted state: `git diff --binary HEAD` plus each
 * untracked (not ignored) file. Undefined when the tree is clean.
 */
export function dirtyStateSha256(
  diff: string | Uint8Array,
  untracked: readonly { readonly path: string; readonly sha256: string }[],
): string | undefined {
  if (diff.length === 0 && untracked.length === 0) return undefined;
  const hash = createHash("sha256").update(diff);
  for (const u of [...untracked].sort((a, b) => (a.path < b.path ? -1 : 1)))
    hash.update(`\0untracked ${u.sha256} ${u.path}`);
  return hash.digest("hex");
}
