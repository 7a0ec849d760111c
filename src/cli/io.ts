/** Where a command writes; only main.ts binds it to the process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Sets the exit code the process ends with (commands that report rather than throw). */
  readonly setExitCode: (code: number) => void;
}
