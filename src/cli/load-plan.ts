import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import type { Plan } from "../core/plan/plan.js";
import { parsePlanText } from "../core/plan/plan-text.js";

/** Reads and parses a plan file; relative paths in it are taken from its folder. */
export async function loadPlanFile(file: string): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError(`plan file ${file} cannot be read`, { hint: "check the --plan path" });
  }
  return parsePlanText(text, file, dirname(resolve(file)));
}
