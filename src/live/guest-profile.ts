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
  const dir = `${GUEST_WORK_DIR}/profile`;
  const data = `${dir}/perf.data`;
  await ssh.run(["rm", "-rf", dir]);
  await ssh.run(["mkdir", "-p", dir]);
  const workload = [GUEST_ALLOC_ONCE, String(request.sizeMiB), ...(request.huge ? ["huge"] : [])];
  const recordArgv = [
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
  progress(`profile: ${recordArgv.slice(2).join(" ")}`);
  if (request.huge) {
    await ssh.run(setHugetlbOvercommitArgv(hugetlbOvercommitPages(request.sizeMiB)));
  }
  let record;
  try {
    record = await ssh.exec(recordArgv, { timeoutMs: 30 * 60_000 });
  } finally {
    if (request.huge) await ssh.run(setHugetlbOvercommitArgv(0));
  }
  if (record.exitCode !== 0) {
    throw new GuestCommandError(recordArgv, record.exitCode, record.signal, record.stderr);
  }
  const recordSummary =
    record.stderr
      .split("\n")
      .filter((l) => l.startsWith("[ perf record:"))
      .at(-1) ?? "";
  const recordedEvents = (await ssh.run(["perf", "evlist", "-i", data]))
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
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

  const out = request.outDir;
  const files = ["perf.data", "kallsyms", "buildids.txt", "report-top.txt", "report.txt"];
  await writeFile(join(out, "perf.data"), perfData);
  await writeFile(join(out, "kallsyms"), kallsyms);
  await writeFile(join(out, "buildids.txt"), buildIds);
  await writeFile(join(out, "report-top.txt"), top);
  await writeFile(join(out, "report.txt"), full);
  const result: ProfileResult = {
    outDir: out,
    event,
    recordedEvents,
    recordSummary,
    topEntries: reportTopEntries(top, request.topEntries),
    files: [...files, "profile.json"],
  };
  await writeFileAtomic(
    join(out, "profile.json"),
    `${JSON.stringify(
      {
        schema: 1,
        createdAt: new Date().toISOString(),
        guestKernel: unameR,
        workload: {
          program: "alloc_once",
          sha256: allocOnce.sha256,
          sizeMiB: request.sizeMiB,
          huge: request.huge,
        },
        command: recordArgv,
        event: {
          requested: event.requested,
          used: event.used,
          fallback: event.fallbackReason !== undefined,
          fallbackReason: event.fallbackReason ?? null,
          recorded: recordedEvents,
        },
        recordSummary,
        perfDataSha256: createHash("sha256").update(perfData).digest("hex"),
        files: result.files,
        readWith: `perf report -i perf.data --kallsyms kallsyms`,
      },
      null,
      2,
    )}\n`,
  );
  return result;
}
