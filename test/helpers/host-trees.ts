import { fileURLToPath } from "node:url";

/** A recorded /sys and /proc tree (test/fixtures/host/README.md) to read host state from. */
export const hostTree = (name: string): string =>
  fileURLToPath(new URL(`../fixtures/host/${name}`, import.meta.url));
