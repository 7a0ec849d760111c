import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempStore {
  /** The test's own directory, for whatever else it writes (stores, copies of results, pages). */
  readonly dir: string;
  /** `history.jsonl` in that directory, not created yet. */
  readonly store: string;
}

/**
 * Mocha hooks for the calling describe block: every test gets a new directory and store path
 * (so no test sees what another appended), removed after it, whether it passed or not. Read the
 * paths inside the tests: they change before each one.
 */
export function tempHistoryStore(prefix: string): TempStore {
  const paths = { dir: "", store: "" };
  beforeEach(async () => {
    paths.dir = await mkdtemp(join(tmpdir(), prefix));
    paths.store = join(paths.dir, "history.jsonl");
  });
  afterEach(async () => {
    await rm(paths.dir, { recursive: true, force: true });
  });
  return paths;
}
