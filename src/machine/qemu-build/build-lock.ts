import { open, readFile, rm } from "node:fs/promises";
import { EnvironmentError } from "../../core/errors.js";

/** One build per key at a time: a lock file holding the builder's pid (a dead holder's is taken). */
export async function takeBuildLock(path: string): Promise<{ release: () => Promise<void> }> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { release: () => rm(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const pid = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new EnvironmentError(`another QEMU build of this tree is running (pid ${pid})`, {
          hint: `wait for it to finish, or remove ${path} if that process is not a build`,
        });
      }
      await rm(path, { force: true });
    }
  }
  throw new EnvironmentError(`could not take the build lock ${path}`, {
    hint: `remove ${path} and try again`,
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
