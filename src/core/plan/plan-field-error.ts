import { BalloonBenchError } from "../errors.js";

export type Path = readonly (string | number)[];

/** A problem with one field of a plan: where it is and what to do. */
export class PlanFieldError extends BalloonBenchError {
  constructor(
    readonly path: Path,
    message: string,
    hint?: string,
  ) {
    super(message, { hint: hint ?? "fix the plan file" });
  }
}

export function formatPath(path: Path): string {
  let out = "";
  for (const part of path)
    out += typeof part === "number" ? `[${part}]` : out === "" ? part : `.${part}`;
  return out === "" ? "(top level)" : out;
}
