import { cp } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RunManifest } from "../../src/core/results-format/manifest.js";
import { ResultsDir } from "../../src/experiment/results-dir.js";

/** A recorded results directory of test/fixtures/results. */
export function recordedResults(name: string): string {
  return fileURLToPath(new URL(`../fixtures/results/${name}`, import.meta.url));
}

/**
 * A copy of a recorded run as another night: `days` later, with `change` applied to its manifest
 * (written through the results format, as run would).
 */
export async function laterNight(
  name: string,
  into: string,
  days: number,
  change: (manifest: RunManifest) => RunManifest = (m) => m,
): Promise<string> {
  const dir = join(into, `${name}-night-${days}`);
  await cp(recordedResults(name), dir, { recursive: true });
  const results = await ResultsDir.open(dir);
  const manifest = await results.readManifest();
  if (manifest.kind !== "run") throw new Error(`${name} is not a run`);
  const shift = (iso: string): string =>
    new Date(Date.parse(iso) + days * 86_400_000).toISOString();
  await results.writeManifest(
    change({
      ...manifest,
      createdAt: shift(manifest.createdAt),
      runs: manifest.runs.map((r) => ({ ...r, startedAt: shift(r.startedAt) })),
    }),
  );
  return dir;
}
