import { UsageError } from "../errors.js";

/** A perf event name as `perf stat -e` takes it (no shell metacharacters). */
export const EVENT = /^[A-Za-z0-9_.:/=@-]+$/;

/** A whole number >= min from a flag's text; the hint shows `example` (default: a valid value). */
export function parsePositiveInt(value: string, flag: string, min = 1, example?: number): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < min) {
    throw new UsageError(`${flag} must be a whole number >= ${min}, got '${value}'`, {
      hint: `e.g. ${flag} ${example ?? Math.max(min, 10)}`,
    });
  }
  return Number(value);
}

export function parseEvents(value: string): string[] {
  const events = value
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  if (events.length === 0)
    throw new UsageError("--events is empty", {
      hint: "e.g. --events task-clock,instructions,cache-misses",
    });
  for (const event of events) {
    if (!EVENT.test(event)) {
      throw new UsageError(`'${event}' is not a perf event name`, {
        hint: "list events as perf names, e.g. task-clock,page-faults",
      });
    }
  }
  return events;
}
