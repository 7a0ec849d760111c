import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CALIBRATION_FILE, type Calibration } from "../core/compare/calibration.js";
import { UsageError } from "../core/errors.js";
import { writeFileAtomic } from "../util/atomic-file.js";

/**
 * Reads calibration.json from a results directory, if it has one. A calibration of the first
 * version (iterations as the unit) is refused: its noise floor is not what a boot-level
 * comparison can detect.
 */
export async function readCalibration(dir: string): Promise<Calibration | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, CALIBRATION_FILE), "utf8");
  } catch {
    return undefined;
  }
  const calibration = JSON.parse(text) as Partial<Calibration> & { schema?: number };
  if (calibration.schema !== 2) {
    throw new UsageError(
      `${join(dir, CALIBRATION_FILE)} was computed per iteration by an older balloon-bench`,
      {
        hint: "run `balloon-bench calibrate` again: noise floors are now computed from boot means",
      },
    );
  }
  return calibration as Calibration;
}

export async function writeCalibration(dir: string, calibration: Calibration): Promise<void> {
  await writeFileAtomic(join(dir, CALIBRATION_FILE), `${JSON.stringify(calibration, null, 2)}\n`);
}
