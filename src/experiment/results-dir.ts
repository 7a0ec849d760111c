import { mkdir, readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import { appendJsonLine, writeFileAtomic } from "../util/atomic-file.js";
import type { Sample } from "../core/results-format/sample.js";

export const MANIFEST_FILE = "manifest.json";
export const SAMPLES_FILE = "samples.jsonl";
export const RAW_CSV_FILE = "perf.csv";

/**
 * A results directory: manifest.json at the top, one folder per cell under cells/ with the raw
 * perf CSV (byte for byte what perf wrote), samples.jsonl (one line per iteration, appended as
 * it completes) and the VM's console log. Writes are atomic or append-and-fsync.
 */
export class ResultsDir {
  private constructor(readonly path: string) {}

  /** Opens a new results directory; refuses one that already holds results. */
  static async create(path: string): Promise<ResultsDir> {
    const dir = resolve(path);
    try {
      const info = await stat(dir);
      if (!info.isDirectory())
        throw new UsageError(`--out ${path} exists and is not a directory`, {
          hint: "choose another --out",
        });
      if ((await readdir(dir)).length > 0) {
        throw new UsageError(`results directory ${path} is not empty`, {
          hint: "choose a new --out directory (existing results are never overwritten)",
        });
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    await mkdir(dir, { recursive: true });
    return new ResultsDir(dir);
  }

  /**
   * Opens --out for a run: a new or empty directory is created; one holding a manifest is
   * returned with it (the caller decides whether it may be resumed); anything else is refused.
   */
  static async createOrResume(path: string): Promise<{ dir: ResultsDir; manifest?: unknown }> {
    const dir = resolve(path);
    const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      if (error.code === "ENOTDIR")
        throw new UsageError(`--out ${path} exists and is not a directory`, {
          hint: "choose another --out",
        });
      throw error;
    });
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

  /** Opens an existing results directory (for import and compare). */
  static async open(path: string): Promise<ResultsDir> {
    const dir = resolve(path);
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

  async writeManifest(manifest: unknown): Promise<void> {
    await writeFileAtomic(join(this.path, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  async readManifest<T>(): Promise<T> {
    return JSON.parse(await readFile(join(this.path, MANIFEST_FILE), "utf8")) as T;
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

  /** Every sample of a cell; a torn last line (a crash mid-append) is skipped. */
  async readSamples(cellId: string): Promise<Sample[]> {
    let text: string;
    try {
      text = await readFile(join(this.path, "cells", cellId, SAMPLES_FILE), "utf8");
    } catch {
      return [];
    }
    const samples: Sample[] = [];
    const lines = text.split("\n");
    for (const [i, line] of lines.entries()) {
      if (line.trim() === "") continue;
      try {
        samples.push(JSON.parse(line) as Sample);
      } catch (error) {
        if (i >= lines.length - 2) break;
        throw error;
      }
    }
    return samples;
  }
}

export { cellId } from "../core/plan/plan.js";
