import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { pinningSchema } from "../core/host/vcpu-pinning.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import type { ProcessIdentity } from "../util/process-identity.js";

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
  /** The user's virtio_balloon.ko that replaced the kernel's (up --balloon-module). */
  balloonModule: z.object({ path: z.string(), sha256: z.string() }).optional(),
  balloonProperties: z.array(z.tuple([z.string(), z.string()])),
  kernel: z.object({ name: z.string(), release: z.string(), path: z.string() }),
  memoryMiB: z.number().int().positive(),
  vcpus: z.number().int().positive(),
  accelerator: z.enum(["kvm", "tcg"]),
  consoleLog: z.string(),
  stderrLog: z.string(),
  bootToSshMs: z.number().optional(),
  /** Where each vCPU thread was pinned (--pin, vm.pin), verified from /proc. */
  pinning: pinningSchema.optional(),
});

export type LiveVmState = z.infer<typeof liveVmStateSchema>;

export function serializeVmState(state: LiveVmState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

export async function writeVmState(dir: string, state: LiveVmState): Promise<void> {
  await writeFileAtomic(join(dir, STATE_FILE), serializeVmState(state));
}

export type VmStateRead =
  | { readonly kind: "absent" }
  | { readonly kind: "ok"; readonly state: LiveVmState }
  /**
   * The file does not validate (edited, or written by another version). Which process it names
   * is read leniently, so a VM whose QEMU still runs is never taken for dead.
   */
  | { readonly kind: "damaged"; readonly problem: string; readonly process?: ProcessIdentity };

function lenientIdentity(json: unknown): ProcessIdentity | undefined {
  const pick = (value: unknown): ProcessIdentity | undefined => {
    const parsed = identity.safeParse(value);
    return parsed.success ? parsed.data : undefined;
  };
  if (typeof json !== "object" || json === null) return undefined;
  const record = json as { qemu?: unknown; owner?: unknown };
  return pick(record.qemu) ?? pick(record.owner);
}

/** The state in `dir`: absent, valid, or damaged (with the process it names, when it can tell). */
export async function readVmStateFile(dir: string): Promise<VmStateRead> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE_FILE), "utf8");
  } catch {
    return { kind: "absent" };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { kind: "damaged", problem: `not JSON (${(error as Error).message})` };
  }
  const parsed = liveVmStateSchema.safeParse(json);
  if (parsed.success) return { kind: "ok", state: parsed.data };
  const issue = parsed.error.issues[0];
  const problem = `${issue?.path.join(".") || "(top level)"}: ${issue?.message ?? "invalid"}`;
  const process = lenientIdentity(json);
  return process === undefined
    ? { kind: "damaged", problem }
    : { kind: "damaged", problem, process };
}

/** The valid state in `dir`, or undefined when there is none or it does not validate. */
export async function readVmState(dir: string): Promise<LiveVmState | undefined> {
  const read = await readVmStateFile(dir);
  return read.kind === "ok" ? read.state : undefined;
}

/** Names of the VM directories under the state root (hidden temporary ones excluded). */
export async function listVmNames(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith("."))
    .map((entry) => entry.name)
    .sort();
}
