/** How much of a refused line a message quotes. */
const QUOTE_MAX = 60;

/** A line of perf stat -x output that does not have the shape perf prints. */
export class PerfCsvParseError extends Error {
  /** 1-based line number in the parsed text. */
  readonly line: number;
  /** The offending line, verbatim. */
  readonly text: string;

  constructor(line: number, text: string, reason: string) {
    // Quote enough of the line to recognize it: a binary file's "line" can be kilobytes long.
    const quoted =
      text.length > QUOTE_MAX
        ? `${JSON.stringify(text.slice(0, QUOTE_MAX))}...`
        : JSON.stringify(text);
    super(`perf stat CSV line ${line}: ${reason}: ${quoted}`);
    this.name = "PerfCsvParseError";
    this.line = line;
    this.text = text;
  }
}
