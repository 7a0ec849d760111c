import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../util/atomic-file.js";

export const STATE_FILE = "state.json";

const identity = z.object({ pid: z.number().int().positive(), startTime: z.number().int() });

/**
 * What a live VM's state directory records (state.json). Written atomically at each phase:
 * "starting" (name taken by an `up` process, QEMU not yet running), "booting" (QEMU runs, SSH
 * not yet up), "running". Which process to check for liveness: `qemu` once known, else `owner`.
 */
export const liveVmStateSchema = z.object({
  schema: z.literal(1),
  name: z.string(),
  phase: z.enum(["starting", "booting", "running"]),
  createdAt: z.string(),
  /** The `balloon-bench up` process that created the VM. */
  owner: identity,
  /** QEMU: pid and /proc start time. */
  qemu: identity.optional(),
  qemuPath: z.string(),
  qemuCommand: z.array(z.string()).optional(),
  qmpSocket: z.string(),
  /** A second QMP monitor, for `qmp --events` (QEMU serves one client per monitor). */
  eventsQmpSocket: z.string(),
  sshPort: z.number().int().positive().optional(),
  /** The guest's pinned SSH host key, an OpenSSH public key line. */
  hostKey: z.string(),
  clientKeyPath: z.string(),
  knownHostsPath: z.string().optional(),
  requestedBits: z.array(z.number().int()),
  balloonProperties: z.array(z.tuple([z.string(), z.string()])),
  kernel: z.object({ name: z.string(), release: z.string(), path: z.string() }),
  memoryMiB: z.number().int().positive(),
  vcpus: z.number().int().positive(),
  accelerator: z.enum(["kvm", "tcg"]),
  consoleLog: z.string(),
  stderrLog: z.string(),
  bootToSshMs: z.number().optional(),
});

export type LiveVmState = z.infer<typeof liveVmStateSchema>;

export function serializeVmState(state: LiveVmState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

export async function writeVmState(dir: string, state: LiveVmState): Promise<void> {
  await writeFileAtomic(join(dir, STATE_FILE), serializeVmState(state));
}

/** The state in `dir`; undefined when there is none or it is unreadable (treated as stale). */
export async function readVmState(dir: string): Promise<LiveVmState | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE_FILE), "utf8");
  } catch {
    return undefined;
  }
  try {
    const parsed = liveVmStateSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Names of the VM directories under the state root (hidden temporary ones excluded). */
export async function listVmNames(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith("."))
    .map((entry) => entry.name)
    .sort();
}
