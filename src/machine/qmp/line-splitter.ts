/**
 * Splits a byte stream into newline-terminated lines with a cap on line length, so a peer that
 * never sends a newline cannot grow our buffer without bound. QMP lines end in "\r\n".
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Returns the complete lines in `chunk`; throws RangeError when a line exceeds the cap. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) break;
      const piece = chunk.subarray(start, newline);
      this.checkSize(piece.length);
      const line = Buffer.concat([...this.pending, piece]).toString("utf8");
      this.pending = [];
      this.pendingBytes = 0;
      lines.push(line.endsWith("\r") ? line.slice(0, -1) : line);
      start = newline + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.checkSize(rest.length);
      this.pending.push(Buffer.from(rest));
      this.pendingBytes += rest.length;
    }
    return lines;
  }

  private checkSize(extraBytes: number): void {
    if (this.pendingBytes + extraBytes > this.maxLineBytes) {
      throw new RangeError(`line longer than ${this.maxLineBytes} bytes`);
    }
  }
}
