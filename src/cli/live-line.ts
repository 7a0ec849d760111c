import type { CliIo } from "./io.js";

/**
 * A status line redrawn in place on a terminal (`\r`), with whole lines printed above it; off a
 * terminal (CI logs) the redraws are dropped, so each stage stays one line.
 */
export interface LiveLine {
  /** Redraws the status (on a terminal, at most every `minIntervalMs`). */
  update(text: string): void;
  /** Prints a whole line, ending the status line first. */
  line(text: string): void;
  /** Ends the status line, if one is shown. */
  end(): void;
}

export function liveLine(
  io: CliIo,
  terminal: { isTTY: boolean; columns: number | undefined },
  minIntervalMs = 200,
): LiveLine {
  let shown = false;
  let lastMs = 0;
  const end = () => {
    if (shown) io.stderr("\n");
    shown = false;
  };
  return {
    update(text) {
      if (!terminal.isTTY) return;
      const now = Date.now();
      if (shown && now - lastMs < minIntervalMs) return;
      lastMs = now;
      const width = Math.max(20, (terminal.columns ?? 100) - 1);
      const fitted = text.length > width ? `${text.slice(0, width - 1)}…` : text;
      // \x1b[K clears what a longer earlier status left on the line.
      io.stderr(`\r${fitted}\x1b[K`);
      shown = true;
    },
    line(text) {
      end();
      io.stderr(`${text}\n`);
    },
    end,
  };
}
