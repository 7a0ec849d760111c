import { readFileSync } from "node:fs";

function readVersion(): string {
  // src/version.ts and dist/src/version.js both sit two levels below package.json... or one.
  for (const relative of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "balloon-bench" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // try the next location
    }
  }
  return "0.0.0-unknown";
}

/** The tool's version from package.json, recorded in results manifests. */
export const TOOL_VERSION = readVersion();
