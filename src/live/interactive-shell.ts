import type { CommandExit, GuestSsh } from "../machine/guest/guest-ssh.js";

export interface Terminal {
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

/**
 * An interactive shell in the guest on a real pseudo-terminal, over our own ssh2 connection
 * rather than the system `ssh`: the host key stays pinned by the same verifier every other
 * command uses (no known_hosts file to trust), and nothing depends on an ssh binary or its
 * configuration. The local terminal goes raw, so Ctrl-C, Ctrl-Z and friends are bytes for the
 * guest's terminal driver (they reach the guest program, not us); window size changes
 * (SIGWINCH, seen as the 'resize' event) are forwarded with setWindow.
 */
export async function runInteractiveShell(ssh: GuestSsh, terminal: Terminal): Promise<CommandExit> {
  const { stdin, stdout, stderr } = terminal;
  const size = (): { rows: number; cols: number } => ({
    rows: stdout.isTTY ? stdout.rows : 24,
    cols: stdout.isTTY ? stdout.columns : 80,
  });
  const { channel, exited } = await ssh.openShell({
    term: process.env["TERM"] ?? "xterm-256color",
    ...size(),
  });
  const raw = stdin.isTTY && !stdin.isRaw;
  if (raw) stdin.setRawMode(true);
  const onInput = (chunk: Buffer): void => void channel.write(chunk);
  const onEnd = (): void => void channel.end();
  const onResize = (): void => {
    const { rows, cols } = size();
    channel.setWindow(rows, cols, 0, 0);
  };
  stdin.on("data", onInput);
  stdin.on("end", onEnd);
  stdin.resume();
  stdout.on("resize", onResize);
  channel.on("data", (chunk: Buffer) => stdout.write(chunk));
  channel.stderr.on("data", (chunk: Buffer) => stderr.write(chunk));
  try {
    return await exited;
  } finally {
    stdout.off("resize", onResize);
    stdin.off("data", onInput);
    stdin.off("end", onEnd);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
  }
}
