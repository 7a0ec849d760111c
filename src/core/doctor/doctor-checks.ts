export type CheckStatus = "ok" | "warn" | "fail";

export interface DoctorCheck {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do about a warn or fail. */
  readonly fix?: string | undefined;
}

/** One line per check: status, name, detail, and the fix for anything not ok. */
export function renderDoctor(checks: readonly DoctorCheck[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  return checks
    .map((c) => {
      const tag = c.status === "ok" ? "ok  " : c.status === "warn" ? "warn" : "FAIL";
      const fix = c.status !== "ok" && c.fix !== undefined ? ` -- fix: ${c.fix}` : "";
      return `${tag}  ${c.name.padEnd(width)}  ${c.detail}${fix}`;
    })
    .join("\n");
}

/** Non-zero when any check failed: the main job cannot run. */
export function doctorExitCode(checks: readonly DoctorCheck[]): number {
  return checks.some((c) => c.status === "fail") ? 1 : 0;
}
