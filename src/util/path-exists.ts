import { stat } from "node:fs/promises";

/** Whether something is at `path` (following symbolic links); any error reads as "no". */
export async function pathExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
