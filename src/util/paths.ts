import envPaths from "env-paths";

/** The tool's cache directory: $XDG_CACHE_HOME/balloon-bench, else ~/.cache/balloon-bench. */
export function cacheDir(): string {
  return envPaths("balloon-bench", { suffix: "" }).cache;
}
