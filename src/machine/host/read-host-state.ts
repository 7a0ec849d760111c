import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  HOST_FILES,
  cpufreqFiles,
  onlineCpus,
  parseHostLoad,
  parseHostState,
  type HostFiles,
  type HostLoad,
  type HostState,
} from "../../core/host/host-state.js";

/**
 * Reads files under `root` ("/" on the host, a recorded tree in tests) into a map by relative
 * path. A file that cannot be read (absent, EACCES, EINVAL from sysfs) is left out: unknown.
 */
export async function readHostFiles(
  root: string,
  paths: readonly string[],
): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  await Promise.all(
    paths.map(async (path) => {
      const text = await readFile(join(root, path), "utf8").catch(() => undefined);
      if (text !== undefined) files.set(path, text);
    }),
  );
  return files;
}

/** Every file the host state is parsed from: the fixed list, then each online CPU's cpufreq. */
export async function readHostStateFiles(root = "/"): Promise<HostFiles> {
  const files = await readHostFiles(root, Object.values(HOST_FILES));
  const perCpu = (onlineCpus(files) ?? []).flatMap((cpu) => Object.values(cpufreqFiles(cpu)));
  for (const [path, text] of await readHostFiles(root, perCpu)) files.set(path, text);
  return files;
}

/** The host's settings and load, read under `root`. */
export async function readHostState(root = "/"): Promise<HostState> {
  return parseHostState(await readHostStateFiles(root));
}

/** Load average, run queue, steal and CPU pressure now (at the start of a boot). */
export async function readHostLoad(root = "/"): Promise<HostLoad> {
  return parseHostLoad(
    await readHostFiles(root, [HOST_FILES.loadavg, HOST_FILES.stat, HOST_FILES.cpuPressure]),
  );
}
