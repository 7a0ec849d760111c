/**
 * A patch series as an mbox (what `b4 am` and `git format-patch --stdout` write): its messages,
 * their subjects as `git am` makes them commit titles, the files each touches, and what a failed
 * `git am` / `git apply` says. Pure over texts.
 */
import { createHash } from "node:crypto";

export interface MboxPatch {
  /** 1-based position in the series file(s). */
  readonly index: number;
  /** The commit title `git am` makes of it: [PATCH ...] prefixes and "Re:" stripped. */
  readonly subject: string;
  /** The raw Subject: header (unfolded, encoded words decoded). */
  readonly rawSubject: string;
  /** sha256 of the message text, From_ line included: identifies the patch in the cache key. */
  readonly sha256: string;
  /** Paths the diff touches (b/ side; a/ side for deletions). */
  readonly files: readonly string[];
  /** The message text, as it was in the mbox. */
  readonly text: string;
}

/** mbox From_ line: "From <sha or address> <date>", e.g. "From git@z Thu Jan  1 00:00:00 1970". */
const FROM_LINE = /^From \S+ +(Mon|Tue|Wed|Thu|Fri|Sat|Sun) /;

/** Splits an mbox into messages at From_ lines (a file without one is a single message). */
export function splitMbox(text: string): string[] {
  const lines = text.split("\n");
  const messages: string[][] = [];
  let current: string[] | undefined;
  for (const line of lines) {
    if (
      FROM_LINE.test(line) &&
      (current === undefined || current.length === 0 || isAfterBlank(current))
    ) {
      current = [line];
      messages.push(current);
      continue;
    }
    if (current === undefined) {
      if (line.trim() === "") continue;
      current = [];
      messages.push(current);
    }
    current.push(line);
  }
  return messages
    .map((m) => {
      while (m.length > 0 && m.at(-1) === "") m.pop();
      return `${m.join("\n")}\n`;
    })
    .filter((m) => m.trim() !== "");
}

/** A From_ line only starts a message after a blank line (or at the top). */
function isAfterBlank(lines: readonly string[]): boolean {
  return lines.at(-1) === "";
}

/** The header block of a message, continuation lines unfolded. */
export function parseHeaders(message: string): Map<string, string> {
  const headers = new Map<string, string>();
  const lines = message.split("\n");
  let name: string | undefined;
  for (const line of lines) {
    if (FROM_LINE.test(line) && name === undefined) continue;
    if (line === "" || line === "\r") break;
    if (/^[ \t]/.test(line) && name !== undefined) {
      headers.set(name, `${headers.get(name) ?? ""} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) break;
    name = line.slice(0, colon).toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return headers;
}

/** Decodes RFC 2047 encoded words (=?utf-8?q?...?= and =?utf-8?b?...?=). */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(
      /=\?([^?]+)\?([qQbB])\?([^?]*)\?=/g,
      (_match, charset: string, enc: string, data: string) => {
        let bytes: Buffer;
        if (enc.toLowerCase() === "b") bytes = Buffer.from(data, "base64");
        else {
          const text = data.replace(/_/g, " ");
          const out: number[] = [];
          for (let i = 0; i < text.length; i++) {
            const hex = text.slice(i + 1, i + 3);
            if (text[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
              out.push(parseInt(hex, 16));
              i += 2;
            } else out.push(text.charCodeAt(i));
          }
          bytes = Buffer.from(out);
        }
        return /^(utf-?8|us-ascii)$/i.test(charset)
          ? bytes.toString("utf8")
          : bytes.toString("latin1");
      },
    );
}

/** git mailinfo's subject clean-up: drop leading "Re:" and [...] groups, collapse spaces. */
export function cleanSubject(subject: string): string {
  let s = subject.replace(/\s+/g, " ").trim();
  for (;;) {
    const next = s.replace(/^(re|RE|Re|aw|AW):\s*/, "").replace(/^\[[^\]]*\]\s*/, "");
    if (next === s) break;
    s = next;
  }
  return s;
}

/** Files a diff touches, from its `diff --git a/X b/Y` lines (else its `---`/`+++` lines). */
export function patchFiles(message: string): string[] {
  const git: string[] = [];
  const plain: string[] = [];
  let minus = "";
  for (const line of message.split("\n")) {
    const header = /^diff --git a\/(\S+) b\/(\S+)$/.exec(line);
    if (header?.[2] !== undefined) git.push(header[2]);
    else if (line.startsWith("--- ")) minus = line.slice(4).split("\t")[0]?.trim() ?? "";
    else if (line.startsWith("+++ ")) {
      const plus = line.slice(4).split("\t")[0]?.trim() ?? "";
      const path = (plus === "/dev/null" ? minus : plus).replace(/^[ab]\//, "");
      if (path !== "" && path !== "/dev/null") plain.push(path);
    }
  }
  return [...new Set(git.length > 0 ? git : plain)];
}

/** Whether a message carries a diff (a cover letter "[PATCH 0/N]" does not). */
export function hasDiff(message: string): boolean {
  return /^diff --git /m.test(message) || (/^--- \S/m.test(message) && /^\+\+\+ \S/m.test(message));
}

/** The patches of a series: messages with a diff, in order (cover letters are skipped). */
export function parseMbox(text: string, startIndex = 1): MboxPatch[] {
  const patches: MboxPatch[] = [];
  for (const message of splitMbox(text)) {
    if (!hasDiff(message)) continue;
    const rawSubject = decodeEncodedWords(parseHeaders(message).get("subject") ?? "");
    patches.push({
      index: startIndex + patches.length,
      subject: cleanSubject(rawSubject) || "(no subject)",
      rawSubject,
      sha256: createHash("sha256").update(message).digest("hex"),
      files: patchFiles(message),
      text: message,
    });
  }
  return patches;
}

export interface ApplyFailure {
  /** The patch that did not apply. */
  readonly patch: MboxPatch | undefined;
  /** The file git named, e.g. "mm/huge_memory.c". */
  readonly file: string | undefined;
  /** git's own reason line, e.g. "patch does not apply". */
  readonly reason: string;
}

/**
 * What a failed `git am` or `git apply` printed, reduced to which patch and which file. `git am`
 * says "Applying: SUBJECT" then "error: patch failed: FILE:LINE" / "error: FILE: patch does not
 * apply" / "error: FILE: does not exist in index", then "Patch failed at 0002 SUBJECT".
 */
export function parseApplyFailure(
  output: string,
  patches: readonly MboxPatch[],
  current?: MboxPatch,
): ApplyFailure {
  // The patch being applied (one `git am` per patch) is the one that failed; else read git's words.
  let patch = current;
  if (patch === undefined) {
    const failedAt = /^Patch failed at (\d+) (.*)$/m.exec(output);
    const applying = [...output.matchAll(/^Applying: (.*)$/gm)].at(-1)?.[1]?.trim();
    const subject = failedAt?.[2]?.trim() ?? applying;
    patch = patches.find((p) => p.subject === subject);
    if (patch === undefined && failedAt?.[1] !== undefined)
      patch = patches[Number(failedAt[1]) - 1];
  }
  let file: string | undefined;
  let named = "";
  let other = "";
  for (const line of output.split("\n")) {
    const failed = /^error: patch failed: (.+):\d+$/.exec(line);
    if (failed?.[1] !== undefined) {
      file ??= failed[1];
      continue;
    }
    const fileError =
      /^error: (.+?): (patch does not apply|does not exist in index|No such file or directory|already exists in (?:index|working directory))$/.exec(
        line,
      );
    if (fileError?.[1] !== undefined && fileError[2] !== undefined) {
      file ??= fileError[1];
      named ||= fileError[2];
      continue;
    }
    const anyError = /^(?:error|fatal): (.+)$/.exec(line);
    if (anyError?.[1] !== undefined && other === "" && !anyError[1].endsWith(":"))
      other = anyError[1];
  }
  return { patch, file, reason: named || other || "patch does not apply" };
}

/** "patch 2/3 'mm: ...' does not apply to mm/huge_memory.c (patch does not apply)". */
export function describeApplyFailure(failure: ApplyFailure, total: number): string {
  const which =
    failure.patch === undefined
      ? "a patch of the series"
      : `patch ${failure.patch.index}/${total} '${failure.patch.subject}'`;
  const where = failure.file === undefined ? "" : ` to ${failure.file}`;
  return `${which} does not apply${where} (${failure.reason})`;
}
