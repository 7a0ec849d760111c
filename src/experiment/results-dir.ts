import { mkdir, readdir, readFile, stat, truncate } from "node:fs/promises";
import { join, resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import type { Manifest } from "../core/results-format/manifest.js";
import { sampleSchema, type Sample } from "../core/results-format/sample.js";
import { parseManifest } from "../core/results-format/upgrade.js";
import { appendJsonLine, writeFileAtomic } from "../util/atomic-file.js";
import { checkUsableDir } from "../util/usable-dir.js";
import { LOCK_FILE } from "./results-lock.js";

export const MANIFEST_FILE = "manifest.json";
export const SAMPLES_FILE = "samples.jsonl";
export const RAW_CSV_FILE = "perf.csv";
/** Free space a results directory needs before anything runs: samples, CSVs, logs. */
/** Below this, a run would fill the disk in its first boots. */
export const MIN_FREE_MIB = 64;

export { cellId } from "../core/plan/plan.js";

/**
 * A results directory: manifest.json at the top (the schema in core/results-format), one folder
 * per cell under cells/ with the raw perf CSVs (byte for byte what perf wrote) and samples.jsonl
 * (one line per iteration, appended as it completes), and boots/ with each VM's logs. Writes are
 * atomic or append-and-fsync; reads are validated.
 */
export class ResultsDir {
  private constructor(readonly path: string) {}

  /** Opens a new results directory; refuses one that already holds something. */
  static async create(path: string): Promise<ResultsDir> {
    const opened = await ResultsDir.createOrOpen(path);
    if (opened.manifest !== undefined) {
      throw new UsageError(`results directory ${path} is not empty`, {
        hint: "choose a new --out directory (existing results are never overwritten)",
      });
    }
    return opened.dir;
  }

  /**
   * Opens --out: a new or empty directory is created; one holding a manifest is returned with
   * it (the caller decides whether it may be resumed or added to); anything else is refused.
   */
  static async createOrOpen(path: string): Promise<{ dir: ResultsDir; manifest?: Manifest }> {
    await checkUsableDir(path, "--out", MIN_FREE_MIB);
    const dir = resolve(path);
    const listed = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      if (error.code === "ENOTDIR")
        throw new UsageError(`--out ${path} exists and is not a directory`, {
          hint: "choose another --out",
        });
      throw error;
    });
    // A lock left by a run that crashed before writing its manifest does not make it non-empty.
    const entries = listed?.filter((name) => name !== LOCK_FILE);
    if (entries === undefined || entries.length === 0) {
      await mkdir(dir, { recursive: true, mode: 0o755 });
      return { dir: new ResultsDir(dir) };
    }
    if (!entries.includes(MANIFEST_FILE)) {
      throw new UsageError(`${path} is not empty and holds no balloon-bench results`, {
        hint: "choose a new --out directory (existing files are never overwritten)",
      });
    }
    const results = new ResultsDir(dir);
    return { dir: results, manifest: await results.readManifest() };
  }

  /** Opens an existing results directory (for compare, merge, history). */
  static async open(path: string): Promise<ResultsDir> {
    const dir = resolve(path);
    const info = await stat(dir).catch(() => undefined);
    if (info === undefined || !info.isDirectory()) {
      throw new UsageError(`${path} is not a directory`, {
        hint: "pass results directories written by run or import",
      });
    }
    if ((await readdir(dir)).length === 0) {
      throw new UsageError(`results directory ${path} is empty`, {
        hint: "run `balloon-bench run --out DIR` first",
      });
    }
    try {
      await stat(join(dir, MANIFEST_FILE));
    } catch {
      throw new UsageError(
        `${path} is not a balloon-bench results directory (no ${MANIFEST_FILE})`,
        {
          hint: "pass a directory written by `balloon-bench run` or `balloon-bench import`",
        },
      );
    }
    return new ResultsDir(dir);
  }

  async cellDir(cellId: string): Promise<string> {
    const dir = join(this.path, "cells", cellId);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  async writeManifest(manifest: Manifest): Promise<void> {
    await writeFileAtomic(join(this.path, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  /** The manifest, validated and upgraded to the current schema. */
  async readManifest(): Promise<Manifest> {
    const file = join(this.path, MANIFEST_FILE);
    const text = await readFile(file, "utf8");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new UsageError(
        `${file} is not valid JSON (${(error as Error).message}); it may have been cut short`,
        { hint: "restore it from a copy, or re-run the experiment into a new --out" },
      );
    }
    return parseManifest(json, file);
  }

  async writeRawCsv(cellId: string, text: string | Buffer, fileName = RAW_CSV_FILE): Promise<void> {
    await writeFileAtomic(join(await this.cellDir(cellId), fileName), text);
  }

  /** A raw CSV name for a boot of a cell that no earlier attempt used: perf-r2.csv, perf-r2-2.csv... */
  async freshRawCsvName(cellId: string, round: number): Promise<string> {
    const taken = new Set(await readdir(await this.cellDir(cellId)));
    for (let attempt = 1; ; attempt++) {
      const name = `perf-r${round}${attempt === 1 ? "" : `-${attempt}`}.csv`;
      if (!taken.has(name)) return name;
    }
  }

  /** A fresh folder for one boot's console and QEMU logs: boots/ID, boots/ID-2 on a retry. */
  async freshBootDir(bootId: string): Promise<string> {
    const root = join(this.path, "boots");
    await mkdir(root, { recursive: true });
    const taken = new Set(await readdir(root));
    for (let attempt = 1; ; attempt++) {
      const name = attempt === 1 ? bootId : `${bootId}-${attempt}`;
      if (!taken.has(name)) {
        await mkdir(join(root, name));
        return join(root, name);
      }
    }
  }

  async appendSample(sample: Sample): Promise<void> {
    await appendJsonLine(join(await this.cellDir(sample.cell), SAMPLES_FILE), sample);
  }

  /**
   * A torn last line of a cell's samples (a crash mid-append) is moved aside to
   * samples.jsonl.torn-TIME and cut off, so the next append starts on a line of its own.
   * Returns what was done, for the run to say; undefined when the file ends cleanly.
   */
  async repairTornTail(cellId: string): Promise<string | undefined> {
    const file = join(this.path, "cells", cellId, SAMPLES_FILE);
    const text = await readFile(file, "utf8").catch(() => "");
    if (text === "" || text.endsWith("\n")) return undefined;
    const cut = text.lastIndexOf("\n") + 1;
    const aside = `${file}.torn-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    await writeFileAtomic(aside, text.slice(cut));
    await truncate(file, Buffer.byteLength(text.slice(0, cut)));
    return `${file}: its last line was cut short (a crash mid-write); kept aside as ${aside} and removed, that iteration will run again`;
  }

  /**
   * Every sample of a cell, each line validated; a torn last line (a crash mid-append) is
   * skipped, any other bad line is an error naming the file and line.
   */
  async readSamples(cellId: string): Promise<Sample[]> {
    const file = join(this.path, "cells", cellId, SAMPLES_FILE);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      return [];
    }
    const samples: Sample[] = [];
    const lines = text.split("\n");
    for (const [i, line] of lines.entries()) {
      if (line.trim() === "") continue;
      const torn = i === lines.length - 1;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        if (torn) break;
        throw new UsageError(`${file}:${i + 1}: not a JSON line`, {
          hint: "the file was edited or damaged; restore it from a copy",
        });
      }
      const parsed = sampleSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new UsageError(
          `${file}:${i + 1}: not a sample (${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"})`,
          { hint: "the file was edited or damaged; restore it from a copy" },
        );
      }
      samples.push(parsed.data);
    }
    return samples;
  }
}
