import { mkdir, readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { UsageError } from "../errors.js";
import { appendJsonLine, writeFileAtomic } from "../util/atomic-file.js";
import type { Sample } from "./sample.js";

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

  async writeRawCsv(cellId: string, text: string | Buffer): Promise<void> {
    await writeFileAtomic(join(await this.cellDir(cellId), RAW_CSV_FILE), text);
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

/** A cell id safe as a folder name: kernel, config and workload labels joined by "__". */
export function cellId(kernel: string, config: string, workload: string): string {
  return [kernel, config, workload].map((part) => part.replace(/[^A-Za-z0-9._-]/g, "_")).join("__");
}
