import type {
  BootRecord,
  BootStatus,
  FeaturesRecord,
  GuestRecord,
  RunCell,
  RunManifest,
} from "../core/results-format/manifest.js";
import type { ResultsDir } from "./results-dir.js";

/** Why a boot ended, for its record. */
export interface BootEnd {
  readonly status: Exclude<BootStatus, "booting" | "running">;
  readonly shutdown?: string | undefined;
  readonly error?: string | undefined;
  readonly consoleTail?: string | undefined;
}

/**
 * The run's manifest and its one writer: every change is a named, typed update, written to
 * disk atomically before the method returns, so the file on disk always says what is true.
 */
export class ManifestStore {
  constructor(
    private readonly results: ResultsDir,
    private readonly manifest: RunManifest,
  ) {}

  get current(): Readonly<RunManifest> {
    return this.manifest;
  }

  get cells(): readonly Readonly<RunCell>[] {
    return this.manifest.cells;
  }

  private cell(id: string): RunCell {
    const cell = this.manifest.cells.find((c) => c.id === id);
    if (cell === undefined) throw new Error(`no cell ${id} in the manifest`);
    return cell;
  }

  private boot(id: string): BootRecord {
    const boot = this.manifest.boots.findLast((b) => b.id === id);
    if (boot === undefined) throw new Error(`no boot ${id} in the manifest`);
    return boot;
  }

  private save(): Promise<void> {
    return this.results.writeManifest(this.manifest);
  }

  /**
   * On resume: boots and cells the manifest still calls running were not (their process is
   * gone, or we could not have the lock): the boots become interrupted. Returns the boots fixed.
   */
  reconcile(endedAt: string): string[] {
    const fixed: string[] = [];
    for (const boot of this.manifest.boots) {
      if (boot.status !== "booting" && boot.status !== "running") continue;
      boot.status = "interrupted";
      boot.endedAt ??= endedAt;
      boot.error ??= "the process running it ended before it did (found on resume)";
      fixed.push(boot.id);
    }
    return fixed;
  }

  /** A new invocation on this directory: unfinished cells start over as pending. */
  async beginRun(
    startedAt: string,
    command: readonly string[],
    resumedIterations: number,
  ): Promise<void> {
    this.manifest.runs.push({ startedAt, command: [...command], resumedIterations });
    for (const cell of this.manifest.cells) {
      if (cell.status !== "complete") cell.status = "pending";
      delete cell.error;
      delete cell.consoleTail;
    }
    await this.save();
  }

  async bootStarted(record: Omit<BootRecord, "status">, cellIds: readonly string[]): Promise<void> {
    this.manifest.boots.push({ ...record, status: "booting" });
    for (const id of cellIds) this.cell(id).status = "running";
    await this.save();
  }

  async bootRunning(
    bootId: string,
    cellIds: readonly string[],
    facts: { bootToSshMs: number; features: FeaturesRecord; guest: GuestRecord },
    host: Pick<BootRecord, "hostLoad" | "pinning"> = {},
  ): Promise<void> {
    Object.assign(this.boot(bootId), { status: "running", ...facts, ...host });
    for (const id of cellIds) Object.assign(this.cell(id), facts);
    await this.save();
  }

  /** The boot's end; its cells that are still running go back to pending (a later boot may finish them). */
  async bootEnded(
    bootId: string,
    cellIds: readonly string[],
    end: BootEnd,
    endedAt: string,
  ): Promise<void> {
    const boot = this.boot(bootId);
    boot.status = end.status;
    boot.endedAt = endedAt;
    if (end.shutdown !== undefined) boot.shutdown = end.shutdown;
    if (end.error !== undefined) boot.error = end.error;
    if (end.consoleTail !== undefined && end.consoleTail !== "") boot.consoleTail = end.consoleTail;
    for (const id of cellIds) {
      const cell = this.cell(id);
      if (cell.status === "running") cell.status = "pending";
    }
    await this.save();
  }

  /** A VM of this kernel × config failed: its unfinished cells fail with the reason. */
  async failCells(
    kernel: string,
    config: string,
    reason: string,
    consoleTail: string,
  ): Promise<string[]> {
    const failed: string[] = [];
    for (const cell of this.manifest.cells) {
      if (cell.kernelName !== kernel || cell.configName !== config || cell.status === "complete")
        continue;
      cell.status = "failed";
      cell.error = reason;
      if (consoleTail !== "") cell.consoleTail = consoleTail;
      failed.push(cell.id);
    }
    await this.save();
    return failed;
  }

  /** At the end: a cell is complete when all its counted iterations are on disk. */
  async finish(counted: ReadonlyMap<string, number>, iterations: number): Promise<void> {
    for (const cell of this.manifest.cells) {
      if (cell.status === "failed") continue;
      cell.status = (counted.get(cell.id) ?? 0) >= iterations ? "complete" : "pending";
    }
    await this.save();
  }
}
