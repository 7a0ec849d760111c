/**
 * Quoting for the guest's POSIX shell. sshd runs a command as `sh -c STRING`, so every argv
 * element we send is single-quoted: inside '...' nothing is special except ' itself, which is
 * closed, escaped and reopened ('\''). Never build a remote command any other way.
 */
export function shellQuote(arg: string): string {
  if (arg.includes("\0")) throw new TypeError("a shell argument cannot contain a NUL byte");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** An argv array as one command string for `sh -c`, each element quoted. */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError("empty command");
  return argv.map(shellQuote).join(" ");
}
