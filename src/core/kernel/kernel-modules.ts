/**
 * Which modules a kernel needs in its initramfs to reach a virtio-blk ext4 root and virtio-net,
 * computed from its own depmod index (modules.dep, modules.builtin). Pure over the file texts.
 */

export interface ModuleIndex {
  /** Module name (dashes as underscores) → its path relative to lib/modules/RELEASE and deps. */
  readonly modules: ReadonlyMap<
    string,
    { readonly path: string; readonly deps: readonly string[] }
  >;
  readonly builtin: ReadonlySet<string>;
}

export interface InitramfsModule {
  /** Path relative to lib/modules/RELEASE, e.g. kernel/drivers/virtio/virtio.ko. */
  readonly path: string;
  /** Failing to load it is not fatal (e.g. crc32c-intel on a CPU without SSE4.2). */
  readonly optional: boolean;
}

/** The modules the guest needs before its root filesystem is mounted, in wish order. */
export const ROOT_AND_NETWORK_MODULES = ["virtio_pci", "virtio_blk", "virtio_net", "ext4"] as const;

export function moduleName(path: string): string {
  const file = path.split("/").at(-1) ?? path;
  return file.replace(/\.ko(\.(xz|zst|gz))?$/, "").replaceAll("-", "_");
}

export function parseModulesDep(text: string): Map<string, { path: string; deps: string[] }> {
  const modules = new Map<string, { path: string; deps: string[] }>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    const path = line.slice(0, colon).trim();
    const deps = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .filter((d) => d !== "");
    modules.set(moduleName(path), { path, deps });
  }
  return modules;
}

export function parseModulesBuiltin(text: string): Set<string> {
  return new Set(
    text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "")
      .map(moduleName),
  );
}

export function parseModuleIndex(modulesDep: string, modulesBuiltin: string): ModuleIndex {
  return { modules: parseModulesDep(modulesDep), builtin: parseModulesBuiltin(modulesBuiltin) };
}

export class MissingModuleError extends Error {}

/**
 * Load order for `wanted`: each module's dependencies (modules.dep lists them so that loading in
 * reverse order works, as modprobe does), then the module, without repeats. Built-in modules are
 * skipped. ext4's soft dependency on crc32c (modules.softdep "pre: crypto-crc32c") is not in
 * modules.dep: crc32c_generic is added before ext4 and crc32c-intel as optional.
 */
export function initramfsModules(wanted: readonly string[], index: ModuleIndex): InitramfsModule[] {
  const order: InitramfsModule[] = [];
  const seen = new Set<string>();
  const add = (name: string, optional: boolean): void => {
    if (seen.has(name) || index.builtin.has(name)) return;
    const entry = index.modules.get(name);
    if (entry === undefined) {
      if (optional) return;
      throw new MissingModuleError(`module ${name} is neither built in nor in modules.dep`);
    }
    seen.add(name);
    for (const dep of [...entry.deps].reverse()) {
      const depName = moduleName(dep);
      if (seen.has(depName) || index.builtin.has(depName)) continue;
      seen.add(depName);
      order.push({ path: dep, optional: false });
    }
    order.push({ path: entry.path, optional });
  };
  for (const name of wanted) {
    if (name === "ext4" && !index.builtin.has("ext4")) {
      add("crc32c_generic", false);
      add("crc32c_intel", true);
    }
    add(name, false);
  }
  return order;
}

/** The initramfs's /etc/modules.load: one file name per line, '?' marks optional ones. */
export function renderModulesLoad(modules: readonly InitramfsModule[]): string {
  return modules.map((m) => `${m.optional ? "?" : ""}${initramfsFileName(m.path)}\n`).join("");
}

/** Module compressions a modules tree may use, with the host command that undoes each. */
const COMPRESSED_MODULE = /\.ko\.(xz|zst|gz)$/;

/** The decompressor argv (reads the file, writes to stdout) for a compressed module path. */
export function moduleDecompressor(path: string): [string, string[]] | undefined {
  const kind = COMPRESSED_MODULE.exec(path)?.[1];
  if (kind === "xz") return ["xz", ["-dc", "--"]];
  if (kind === "zst") return ["zstd", ["-dcq", "--"]];
  if (kind === "gz") return ["gzip", ["-dc", "--"]];
  return undefined;
}

/**
 * The file name a module gets in the initramfs: its base name, always `.ko` (compressed modules
 * are decompressed on the host, as busybox insmod may not read xz or zstd).
 */
export function initramfsFileName(path: string): string {
  return (path.split("/").at(-1) ?? path).replace(COMPRESSED_MODULE, ".ko");
}
