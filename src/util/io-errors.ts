/** File-system errors a user can fix (space, permissions, read-only, limits), with the fix. */
const FIXABLE: Readonly<Record<string, { what: string; fix: string }>> = {
  ENOSPC: {
    what: "no space left on the device",
    fix: "free space on that filesystem, or use another directory",
  },
  EDQUOT: {
    what: "disk quota exceeded",
    fix: "free space within your quota, or use another directory",
  },
  EACCES: {
    what: "permission denied",
    fix: "make it writable by this user (e.g. chown it), or use another directory",
  },
  EPERM: {
    what: "operation not permitted",
    fix: "make it writable by this user, or use another directory",
  },
  EROFS: { what: "read-only filesystem", fix: "use a directory on a writable filesystem" },
  EMFILE: { what: "too many open files", fix: "raise the limit (ulimit -n)" },
  ENAMETOOLONG: { what: "file name too long", fix: "use a shorter path" },
};

/** The first fixable file-system error in an error's cause chain, if there is one. */
export function fixableIoError(error: unknown): NodeJS.ErrnoException | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code !== undefined && code in FIXABLE) return current;
    current = current.cause;
  }
  return undefined;
}

/** One line for a fixable file-system error: what, where, and the fix. */
export function describeIoError(error: NodeJS.ErrnoException): { message: string; hint: string } {
  const known = FIXABLE[error.code ?? ""] ?? { what: error.message, fix: "check the path" };
  const where = error.path === undefined ? "" : ` (${error.syscall ?? "writing"} ${error.path})`;
  return { message: `${known.what}${where}`, hint: known.fix };
}
