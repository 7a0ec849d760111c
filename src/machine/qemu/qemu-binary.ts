import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { execa } from "execa";
import { EnvironmentError, UsageError } from "../../core/errors.js";

export const DEFAULT_QEMU_BINARY = "qemu-system-x86_64";

export interface QemuBinaryInfo {
  readonly path: string;
  /** e.g. "7.2.22" */
  readonly version: string;
  /** The whole first line of `--version`, e.g. "QEMU emulator version 7.2.22 (Debian ...)". */
  readonly versionLine: string;
}

/** Looks a command up on PATH, like `command -v`; undefined when absent. */
export async function findOnPath(
  command: string,
  path = process.env["PATH"] ?? "",
): Promise<string | undefined> {
  if (command.includes("/")) return command;
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Resolves --qemu (or the default) to an executable file, with a one-line error otherwise. */
export async function resolveQemuBinary(requested: string | undefined): Promise<string> {
  const name = requested ?? DEFAULT_QEMU_BINARY;
  const found = await findOnPath(name);
  if (found === undefined) {
    throw new EnvironmentError(`QEMU binary '${name}' was not found on PATH`, {
      hint: "install it with `sudo bash scripts/install-deps.sh` (Debian package qemu-system-x86) or pass --qemu PATH",
    });
  }
  let info;
  try {
    info = await stat(found);
  } catch {
    throw new UsageError(`QEMU binary '${found}' does not exist`, {
      hint: "pass --qemu with the path of a qemu-system-x86_64 binary",
    });
  }
  if (!info.isFile()) {
    throw new UsageError(`QEMU binary '${found}' is not a file`, {
      hint: "pass --qemu with the path of a qemu-system-x86_64 binary",
    });
  }
  try {
    await access(found, constants.X_OK);
  } catch {
    throw new UsageError(`QEMU binary '${found}' is not executable`, {
      hint: `chmod +x ${found}, or pass another --qemu`,
    });
  }
  return found;
}

export function parseQemuVersion(output: string): { version: string; versionLine: string } {
  const versionLine = output.split("\n")[0]?.trim() ?? "";
  const match = /version (\d+\.\d+(?:\.\d+)?)/.exec(versionLine);
  if (match?.[1] === undefined) {
    throw new EnvironmentError(
      `could not read a QEMU version from: ${versionLine || "(no output)"}`,
      {
        hint: "check that --qemu points at a qemu-system binary",
      },
    );
  }
  return { version: match[1], versionLine };
}

export async function readQemuBinaryInfo(path: string): Promise<QemuBinaryInfo> {
  const result = await execa(path, ["--version"], { reject: false, timeout: 10_000 });
  if (result.exitCode !== 0) {
    throw new EnvironmentError(
      `'${path} --version' failed (exit ${String(result.exitCode)}): ${result.stderr.split("\n")[0] ?? ""}`,
      {
        hint: "check that --qemu points at a working qemu-system binary",
      },
    );
  }
  return { path, ...parseQemuVersion(result.stdout) };
}

/**
 * Parses `-device DRIVER,help` output: lines like "  free-page-reporting=<bool> - on/off (default: false)".
 * Returns property names in order.
 */
export function parseDeviceHelp(output: string): string[] {
  const properties: string[] = [];
  for (const line of output.split("\n")) {
    const match = /^\s+([A-Za-z0-9_.-]+)=</.exec(line);
    if (match?.[1] !== undefined) properties.push(match[1]);
  }
  return properties;
}

export async function readDeviceProperties(qemuPath: string, driver: string): Promise<string[]> {
  const result = await execa(qemuPath, ["-machine", "none", "-device", `${driver},help`], {
    reject: false,
    timeout: 10_000,
  });
  if (result.exitCode !== 0) {
    throw new EnvironmentError(
      `'${qemuPath} -device ${driver},help' failed: ${result.stderr.split("\n")[0] ?? ""}`,
      {
        hint: `this QEMU may lack the ${driver} device`,
      },
    );
  }
  return parseDeviceHelp(result.stdout);
}
