import { open, readFile, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { UsageError } from "../core/errors.js";
import { isSameProcess, selfIdentity } from "../util/process-identity.js";

export const LOCK_FILE = ".lock";

const lockSchema = z.object({
  pid: z.number().int().positive(),
  startTime: z.number().int(),
  hostname: z.string(),
  command: z.array(z.string()),
  since: z.string(),
});

async function readOnce(path: string) {
  return lockSchema.safeParse(
    await readFile(path, "utf8")
      .then(JSON.parse)
      .catch(() => undefined),
  );
}

/** The lock's holder; an unreadable lock is read again shortly (its writer may be mid-write). */
async function readHolder(path: string) {
  const first = await readOnce(path);
  if (first.success) return first;
  await sleep(200);
  return readOnce(path);
}

/** One writer per results directory: held for the whole run, released (file removed) on dispose. */
export class ResultsLock implements AsyncDisposable {
  private released = false;

  private constructor(
    readonly path: string,
    /** Set when the lock of a process that no longer runs was taken over. */
    readonly tookOverFrom: z.infer<typeof lockSchema> | undefined,
  ) {}

  /**
   * Takes the lock of `dir` (an exclusive create of DIR/.lock with this process's identity). A
   * lock held by a live balloon-bench is refused, naming its pid; one left by a process that is
   * gone (a crash, a SIGKILL) is taken over, which the caller says.
   */
  static async acquire(dir: string, command: readonly string[]): Promise<ResultsLock> {
    const path = join(dir, LOCK_FILE);
    const me = await selfIdentity();
    const record = {
      ...me,
      hostname: hostname(),
      command: [...command],
      since: new Date().toISOString(),
    };
    let stale: z.infer<typeof lockSchema> | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await open(path, "wx", 0o600);
        await handle.writeFile(`${JSON.stringify(record)}\n`);
        await handle.close();
        return new ResultsLock(path, stale);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = await readHolder(path);
      if (
        holder.success &&
        holder.data.hostname === hostname() &&
        (await isSameProcess(holder.data))
      ) {
        throw new UsageError(
          `${dir} is being written by balloon-bench pid ${holder.data.pid} (since ${holder.data.since}: ${holder.data.command.join(" ").slice(0, 80)})`,
          {
            hint: "wait for that run to finish, or use another --out; one writer per results directory",
          },
        );
      }
      // The holder is gone: remove its lock and race for a fresh one (a loser sees the winner).
      if (holder.success) stale = holder.data;
      await rm(path, { force: true });
    }
    throw new UsageError(`${dir}: could not take its lock ${path}`, {
      hint: "another process keeps re-creating it; stop it or use another --out",
    });
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await rm(this.path, { force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}
