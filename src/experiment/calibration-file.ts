import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CALIBRATION_FILE, type Calibration } from "../core/compare/calibration.js";
import { writeFileAtomic } from "../util/atomic-file.js";

/** Reads calibration.json from a results directory, if it has one. */
export async function readCalibration(dir: string): Promise<Calibration | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, CALIBRATION_FILE), "utf8")) as Calibration;
  } catch {
    return undefined;
  }
}

export async function writeCalibration(dir: string, calibration: Calibration): Promise<void> {
  await writeFileAtomic(join(dir, CALIBRATION_FILE), `${JSON.stringify(calibration, null, 2)}\n`);
}
