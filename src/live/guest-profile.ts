import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  GUEST_ALLOC_ONCE,
  GUEST_WORK_DIR,
  hugetlbOvercommitPages,
  setHugetlbOvercommitArgv,
} from "../core/protocol/guest-protocol.js";
import { UsageError } from "../core/errors.js";
import { GuestCommandError } from "../machine/guest/guest-errors.js";
import type { GuestSsh } from "../machine/guest/guest-ssh.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import type { AllocOnceBinary } from "../machine/workload/alloc-once.js";

export interface ProfileRequest {
  readonly sizeMiB: number;
  readonly huge: boolean;
  /** The event asked for (default cycles); replaced by cpu-clock when the guest has no PMU. */
  readonly event: string;
  /** Host directory for perf.data and what reading it needs; must be new or empty. */
  readonly outDir: string;
  readonly topEntries: number;
}

export interface EventChoice {
  readonly requested: string;
  readonly used: string;
  /** Why the requested event was replaced; undefined when it was used. */
  readonly fallbackReason: string | undefined;
}

export interface ProfileResult {
  readonly outDir: string;
  readonly event: EventChoice;
  /** Events perf.data really holds (`perf evlist`): perf may substitute events silently. */
  readonly recordedEvents: readonly string[];
  /** perf record's own summary line ("[ perf record: Captured and wrote ... ]"). */
  readonly recordSummary: string;
  /** The first lines of `perf report --stdio --no-children`, as printed in the guest. */
  readonly topEntries: readonly string[];
  readonly files: readonly string[];
}

/** The software event used when the guest has no hardware PMU (TCG emulates none). */
export const FALLBACK_EVENT = "cpu-clock";

/**
 * Whether `event` can be counted in the guest: `perf stat -x,` prints `<not supported>` in the
 * value field for an event the kernel has no PMU for. Note that `perf record -e cycles` would
 * not fail there: perf silently records cpu-clock instead, which is why this is checked first.
 */
export async function chooseProfileEvent(ssh: GuestSsh, event: string): Promise<EventChoice> {
  const probe = await ssh.exec([
    "env",
    "LC_ALL=C",
    "perf",
    "stat",
    "-x,",
    "-e",
    event,
    "--",
    "true",
  ]);
  const line = probe.stderr
    .split("\n")
    .find((l) => l.split(",")[2]?.startsWith(event.split(":")[0] ?? event) === true);
  const value = line?.split(",")[0];
  if (probe.exitCode === 0 && value !== undefined && !value.startsWith("<")) {
    return { requested: event, used: event, fallbackReason: undefined };
  }
  const pmus = await ssh.exec(["ls", "/sys/bus/event_source/devices"]);
  const hasCpuPmu = pmus.stdout.split(/\s+/).includes("cpu");
  const what =
    value !== undefined && value.startsWith("<")
      ? `perf stat prints ${value} for ${event}`
      : `perf stat -e ${event} failed: ${probe.stderr.trim().split("\n").at(-1) ?? ""}`;
  const reason = hasCpuPmu
    ? `${event} is not usable in this guest (${what})`
    : `the guest has no hardware PMU (no cpu PMU in /sys/bus/event_source/devices; ${what}), as under TCG, which emulates none`;
  return { requested: event, used: FALLBACK_EVENT, fallbackReason: reason };
}

async function assertEmptyOrNew(dir: string): Promise<void> {
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  if (entries.length > 0) {
    throw new UsageError(`--out ${dir} is not empty`, {
      hint: "give a new or empty directory: profiles are never overwritten",
    });
  }
}

async function uploadAllocOnce(ssh: GuestSsh, allocOnce: AllocOnceBinary): Promise<void> {
  await ssh.run(["mkdir", "-p", GUEST_WORK_DIR]);
  const present = await ssh.exec(["sha256sum", GUEST_ALLOC_ONCE]);
  if (present.exitCode === 0 && present.stdout.split(/\s+/)[0] === allocOnce.sha256) return;
  await ssh.writeFile(GUEST_ALLOC_ONCE, await readFile(allocOnce.path), 0o755);
}

/** Top entries of a `perf report --stdio` text: its non-comment, non-empty lines. */
export function reportTopEntries(report: string, count: number): string[] {
  return report
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"))
    .slice(0, count);
}

/**
 * `balloon-bench profile`: alloc_once under `perf record -g` in the guest, read there with
 * `perf report` (the host may have no perf), then perf.data copied back with the guest's
 * kallsyms and build-id list, which reading it elsewhere needs.
 */
export async function profileAllocOnce(
  ssh: GuestSsh,
  allocOnce: AllocOnceBinary,
  request: ProfileRequest,
  progress: (line: string) => void,
): Promise<ProfileResult> {
  await assertEmptyOrNew(request.outDir);
  await mkdir(request.outDir, { recursive: true });
  await uploadAllocOnce(ssh, allocOnce);
  const event = await chooseProfileEvent(ssh, request.event);
  if (event.fallbackReason !== undefined) {
    progress(
      `profile: not recording ${event.requested}: ${event.fallbackReason}; recording the software event ${event.used} instead`,
    );
  }
  const recorded = await recordInGuest(ssh, request, event, progress);
  const files = await copyBack(ssh, recorded.data, request.outDir);
  const result: ProfileResult = {
    outDir: request.outDir,
    event,
    recordedEvents: recorded.events,
    recordSummary: recorded.summary,
    topEntries: reportTopEntries(files.top, request.topEntries),
    files: [...files.names, "profile.json"],
  };
  await writeProfileRecord(request, allocOnce, recorded, files, result);
  return result;
}

interface Recorded {
  readonly data: string;
  readonly argv: readonly string[];
  readonly summary: string;
  readonly events: string[];
}

/** perf record -g of alloc_once in the guest (hugetlb surplus pages set around it). */
async function recordInGuest(
  ssh: GuestSsh,
  request: ProfileRequest,
  event: EventChoice,
  progress: (line: string) => void,
): Promise<Recorded> {
  const dir = `${GUEST_WORK_DIR}/profile`;
  const data = `${dir}/perf.data`;
  await ssh.run(["rm", "-rf", dir]);
  await ssh.run(["mkdir", "-p", dir]);
  const workload = [GUEST_ALLOC_ONCE, String(request.sizeMiB), ...(request.huge ? ["huge"] : [])];
  const argv = [
    "env",
    "LC_ALL=C",
    "perf",
    "record",
    "-e",
    event.used,
    "-g",
    "-o",
    data,
    "--",
    ...workload,
  ];
  progress(`profile: ${argv.slice(2).join(" ")}`);
  if (request.huge) {
    await ssh.run(setHugetlbOvercommitArgv(hugetlbOvercommitPages(request.sizeMiB)));
  }
  let record;
  try {
    record = await ssh.exec(argv, { timeoutMs: 30 * 60_000 });
  } finally {
    if (request.huge) await ssh.run(setHugetlbOvercommitArgv(0));
  }
  if (record.exitCode !== 0) {
    throw new GuestCommandError(argv, record.exitCode, record.signal, record.stderr);
  }
  const summary =
    record.stderr
      .split("\n")
      .filter((l) => l.startsWith("[ perf record:"))
      .at(-1) ?? "";
  const events = (await ssh.run(["perf", "evlist", "-i", data]))
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  return { data, argv, summary, events };
}

interface CopiedBack {
  readonly names: readonly string[];
  readonly top: string;
  readonly unameR: string;
  readonly perfData: Buffer;
}

/** Reads the profile in the guest (the host may have no perf) and copies what reading it needs. */
async function copyBack(ssh: GuestSsh, data: string, out: string): Promise<CopiedBack> {
  const reportArgv = ["env", "LC_ALL=C", "perf", "report", "--stdio", "-i", data];
  const top = await ssh.run([
    ...reportArgv,
    "--no-children",
    "-g",
    "none",
    "--percent-limit",
    "0.5",
  ]);
  const full = await ssh.run([...reportArgv, "--no-children"]);
  const kallsyms = await ssh.run(["cat", "/proc/kallsyms"], { timeoutMs: 120_000 });
  const buildIds = await ssh.run(["perf", "buildid-list", "-i", data, "--with-hits"]);
  const unameR = (await ssh.run(["uname", "-r"])).trim();
  const perfData = await ssh.readFile(data);
  const contents: [string, string | Buffer][] = [
    ["perf.data", perfData],
    ["kallsyms", kallsyms],
    ["buildids.txt", buildIds],
    ["report-top.txt", top],
    ["report.txt", full],
  ];
  for (const [name, content] of contents) await writeFile(join(out, name), content);
  return { names: contents.map(([name]) => name), top, unameR, perfData };
}

async function writeProfileRecord(
  request: ProfileRequest,
  allocOnce: AllocOnceBinary,
  recorded: Recorded,
  files: CopiedBack,
  result: ProfileResult,
): Promise<void> {
  const record = {
    schema: 1,
    createdAt: new Date().toISOString(),
    guestKernel: files.unameR,
    workload: {
      program: "alloc_once",
      sha256: allocOnce.sha256,
      sizeMiB: request.sizeMiB,
      huge: request.huge,
    },
    command: recorded.argv,
    event: {
      requested: result.event.requested,
      used: result.event.used,
      fallback: result.event.fallbackReason !== undefined,
      fallbackReason: result.event.fallbackReason ?? null,
      recorded: recorded.events,
    },
    recordSummary: recorded.summary,
    perfDataSha256: createHash("sha256").update(files.perfData).digest("hex"),
    files: result.files,
    readWith: `perf report -i perf.data --kallsyms kallsyms`,
  };
  await writeFileAtomic(
    join(request.outDir, "profile.json"),
    `${JSON.stringify(record, null, 2)}\n`,
  );
}
