/** A line of perf stat -x output that does not have the shape perf prints. */
export class PerfCsvParseError extends Error {
  /** 1-based line number in the parsed text. */
  readonly line: number;
  /** The offending line, verbatim. */
  readonly text: string;

  constructor(line: number, text: string, reason: string) {
    super(`perf stat CSV line ${line}: ${reason}: ${JSON.stringify(text)}`);
    this.name = "PerfCsvParseError";
    this.line = line;
    this.text = text;
  }
}
