import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { EnvironmentError, UsageError } from "../../core/errors.js";
import { HOST_FILES, activeChoice } from "../../core/host/host-state.js";
import {
  savedState,
  tuneStateSchema,
  type TuneChange,
  type TuneState,
} from "../../core/host/host-tuning.js";
import { writeFileAtomic } from "../../util/atomic-file.js";

/**
 * Where `doctor --tune --apply` keeps the values it replaced: $XDG_STATE_HOME/balloon-bench when
 * set, else /var/lib/balloon-bench (root only: a sudo with another HOME still finds it).
 */
export function defaultTuneStatePath(env: Readonly<Record<string, string | undefined>>): string {
  const base = env["XDG_STATE_HOME"];
  return join(base !== undefined && base !== "" ? base : "/var/lib", "balloon-bench", "tuned.json");
}

export async function readTuneState(statePath: string): Promise<TuneState | undefined> {
  const text = await readFile(statePath, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (text === undefined) return undefined;
  const parsed = tuneStateSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new UsageError(`${statePath} is not a state file of doctor --tune --apply`, {
      hint: "restore the settings by hand and remove the file",
    });
  return parsed.data;
}

/** The value of a sysfs file as a setting: the bracketed choice of a selector file, else its text. */
async function readSetting(root: string, path: string): Promise<string> {
  const text = (await readFile(join(root, path), "utf8")).trim();
  return path === HOST_FILES.thpEnabled || path === HOST_FILES.thpDefrag
    ? (activeChoice(text) ?? text)
    : text;
}

async function writeSetting(root: string, path: string, value: string): Promise<void> {
  try {
    await writeFile(join(root, path), `${value}\n`);
  } catch (error) {
    throw new EnvironmentError(
      `could not write ${value} to /${path}: ${(error as Error).message}`,
      { hint: "check the value is offered by this kernel (and that you are root)", cause: error },
    );
  }
  const now = await readSetting(root, path);
  if (now !== value)
    throw new EnvironmentError(`/${path} reads ${now} after writing ${value}`, {
      hint: "the kernel refused the value; set it by hand",
    });
}

function checkRoot(isRoot: boolean, what: string): void {
  if (!isRoot)
    throw new UsageError(`doctor ${what} changes host settings and needs root`, {
      hint: `run it as root (sudo balloon-bench doctor ${what}); \`doctor --tune\` alone only shows what it would set`,
    });
}

/**
 * Applies the changes under `root`, saving each file's previous value to `statePath` first (so a
 * failure half-way can still be reset). Refused unless `isRoot`.
 */
export async function applyTuning(
  root: string,
  changes: readonly TuneChange[],
  options: { readonly statePath: string; readonly isRoot: boolean; readonly now?: Date },
): Promise<TuneState> {
  checkRoot(options.isRoot, "--apply");
  const existing = await readTuneState(options.statePath);
  if (existing !== undefined && existing.root !== root)
    throw new UsageError(`${options.statePath} holds settings saved for root ${existing.root}`, {
      hint: "run `doctor --reset` for that root first",
    });
  const state = savedState(existing, changes, root, (options.now ?? new Date()).toISOString());
  await mkdir(dirname(options.statePath), { recursive: true, mode: 0o755 });
  await writeFileAtomic(options.statePath, `${JSON.stringify(state, null, 2)}\n`);
  for (const change of changes) await writeSetting(root, change.path, change.to);
  return state;
}

/** Puts back every value `--apply` saved and removes the state file; returns what it restored. */
export async function resetTuning(
  root: string,
  options: { readonly statePath: string; readonly isRoot: boolean },
): Promise<TuneState["previous"]> {
  checkRoot(options.isRoot, "--reset");
  const state = await readTuneState(options.statePath);
  if (state === undefined)
    throw new UsageError(`nothing to reset: ${options.statePath} does not exist`, {
      hint: "doctor --reset undoes a `doctor --tune --apply`; none was applied (or it was reset)",
    });
  if (state.root !== root)
    throw new UsageError(`${options.statePath} holds settings saved for root ${state.root}`, {
      hint: "reset with that root",
    });
  for (const entry of state.previous) await writeSetting(root, entry.path, entry.value);
  await rm(options.statePath);
  return state.previous;
}
