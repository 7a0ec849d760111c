import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";

/** The repository's images/ folder (guest-side files), from src/ or from dist/src/. */
export function imagesDir(): string {
  for (const relative of ["../../images", "../../../images"]) {
    const candidate = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${candidate}/alloc_once.c`)) return candidate;
  }
  throw new Error("images/ folder not found next to the package");
}
