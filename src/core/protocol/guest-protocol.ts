/**
 * The series' bench.sh protocol as argv arrays and fixed scripts (pure). Per iteration, two SSH
 * execs: the prepare step (drop caches, trigger the page_reporting flush, or wait a settle time
 * on kernels without that parameter), then alloc_once under `perf stat -x, -o FILE --append`,
 * printing the CSV so far. Two, so the host can read QEMU's RSS between them (what reporting
 * gave back) and can end the settle itself when that RSS stops falling. Everything variable
 * travels as a quoted positional argument, never inside the script.
 */

export const GUEST_WORK_DIR = "/tmp/bb";
export const GUEST_ALLOC_ONCE = `${GUEST_WORK_DIR}/alloc_once`;
export const GUEST_PERF_CSV = `${GUEST_WORK_DIR}/perf.csv`;
export const GUEST_BALLOON_MODULE = `${GUEST_WORK_DIR}/virtio_balloon.ko`;
export const FLUSH_PARAMETER = "/sys/module/page_reporting/parameters/flush";
/** bench.sh writes 512 (a page budget) to the flush parameter before every iteration. */
export const FLUSH_PAGES = 512;

/**
 * How the prepare step waits for free page reporting: "flush" writes the series' parameter;
 * "sleep" waits a fixed time in the guest; "rss" (host side) drops caches only, and the host
 * waits until QEMU's RSS has fallen and stopped falling, at most `maxMs`; "none" drops caches.
 */
export type SettleMode =
  | { readonly method: "flush"; readonly pages: number }
  | { readonly method: "sleep"; readonly ms: number }
  | { readonly method: "rss"; readonly maxMs: number }
  | { readonly method: "none" };

/**
 * $1 = flush|sleep|none, $2 = pages or seconds. Prints "bb-prepare T0 T1" (guest uptime) on
 * stderr: /proc/uptime through the `read` builtin, timestamps without an exec (each costs ~50 ms
 * under TCG).
 */
const PREPARE_SCRIPT = [
  "read t0 _ </proc/uptime",
  "echo 3 > /proc/sys/vm/drop_caches || exit 90",
  'case "$1" in flush) echo "$2" > /sys/module/page_reporting/parameters/flush || exit 91;; sleep) sleep "$2";; esac',
  "read t1 _ </proc/uptime",
  'echo "bb-prepare $t0 $t1" >&2',
].join("\n");

/**
 * $1 = perf CSV path, $2 = /proc/vmstat fields to report (space-separated), then perf's own
 * argv. vmstat is read with the `read` builtin before and after perf and printed as
 * "bb-vmstat-0/1 NAME VALUE" lines on stderr; "bb-perf T1 T2" times the perf command.
 */
const PERF_SCRIPT = [
  'vmstat() { while read k v; do case " $want " in *" $k "*) echo "bb-vmstat-$1 $k $v" >&2;; esac; done </proc/vmstat; }',
  "read t1 _ </proc/uptime",
  "csv=$1; want=$2; shift 2",
  "vmstat 0",
  '"$@"; rc=$?',
  "vmstat 1",
  "read t2 _ </proc/uptime",
  'cat "$csv" || exit 92',
  'echo "bb-perf $t1 $t2" >&2',
  "exit $rc",
].join("\n");

/** Pure: per-field /proc/vmstat deltas across the perf command, from the script's stderr. */
export function parseVmstatDeltas(stderr: string): Record<string, number> {
  const before = new Map<string, number>();
  const deltas: Record<string, number> = {};
  for (const match of stderr.matchAll(/^bb-vmstat-([01]) (\S+) (\d+)$/gm)) {
    const [, phase, key, value] = match as unknown as [string, string, string, string];
    if (phase === "0") before.set(key, Number(value));
    else if (before.has(key)) deltas[key] = Number(value) - (before.get(key) ?? 0);
  }
  return deltas;
}

/**
 * Pure: guest-side milliseconds between the two uptime stamps of a "bb-prepare" or "bb-perf"
 * line (10 ms resolution): drop_caches plus flush or sleep, or the perf stat command (perf's own
 * start-up plus alloc_once).
 */
export function parseGuestSpanMs(stderr: string, step: "prepare" | "perf"): number | undefined {
  const match = new RegExp(`^bb-${step} ([\\d.]+) ([\\d.]+)$`, "m").exec(stderr);
  if (match === null) return undefined;
  return Math.round((Number(match[2]) - Number(match[1])) * 1000);
}

export interface IterationRequest {
  readonly events: readonly string[];
  readonly sizeMiB: number;
  readonly huge: boolean;
  /** Guest path of this workload's perf CSV (perf appends one run per iteration). */
  readonly csvPath?: string;
  readonly vmstat?: readonly string[];
}

/** The perf command of bench.sh, with LC_ALL=C so numbers are never localized. */
export function perfStatArgv(
  request: Pick<IterationRequest, "events" | "sizeMiB" | "huge" | "csvPath">,
): string[] {
  return [
    "env",
    "LC_ALL=C",
    "perf",
    "stat",
    "-e",
    request.events.join(","),
    "-x,",
    "-o",
    request.csvPath ?? GUEST_PERF_CSV,
    "--append",
    "--",
    GUEST_ALLOC_ONCE,
    String(request.sizeMiB),
    ...(request.huge ? ["huge"] : []),
  ];
}

/** The prepare step as one argv for the guest ("rss" settles on the host: here it only drops caches). */
export function prepareArgv(settle: SettleMode): string[] {
  const [method, arg] =
    settle.method === "flush"
      ? ["flush", String(settle.pages)]
      : settle.method === "sleep"
        ? ["sleep", (settle.ms / 1000).toFixed(3)]
        : ["none", "0"];
  return ["sh", "-c", PREPARE_SCRIPT, "bb-prepare", method, arg];
}

/** The measured step (vmstat around perf stat, then the CSV so far) as one argv for the guest. */
export function perfIterationArgv(request: IterationRequest): string[] {
  return [
    "sh",
    "-c",
    PERF_SCRIPT,
    "bb-iteration",
    request.csvPath ?? GUEST_PERF_CSV,
    (request.vmstat ?? []).join(" "),
    ...perfStatArgv(request),
  ];
}

/** Exit codes of the iteration script that are ours, not perf's. */
export function describeIterationFailure(exitCode: number | null): string | undefined {
  if (exitCode === 90) return "writing /proc/sys/vm/drop_caches failed";
  if (exitCode === 91) return `writing ${FLUSH_PARAMETER} failed`;
  if (exitCode === 92) return `reading ${GUEST_PERF_CSV} failed`;
  return undefined;
}

/**
 * Prepares the work directory and reads what the protocol needs to know about the guest, as
 * key=value lines. Shell builtins where possible: under TCG each exec costs ~50 ms, and running
 * `perf version` would cost a whole perf start-up (~1 s after drop_caches).
 */
export const GUEST_FACTS_SCRIPT = [
  `mkdir -p ${GUEST_WORK_DIR}`,
  "read release </proc/sys/kernel/osrelease",
  'echo "uname_r=$release"',
  `[ -e ${FLUSH_PARAMETER} ] && echo flush=yes || echo flush=no`,
  "[ -e /proc/sys/vm/nr_overcommit_hugepages ] && echo hugetlb=yes || echo hugetlb=no",
  '[ -e "/lib/modules/$release/modules.dep" ] && echo modules=yes || echo modules=no',
  "thp=; read thp </sys/kernel/mm/transparent_hugepage/enabled",
  'echo "thp=$thp"',
  'while read key value _; do [ "$key" = MemTotal: ] && echo "mem_total_kib=$value" && break; done </proc/meminfo',
  "echo \"perf=linux-perf $(sed -n '/^Package: linux-perf$/,/^$/s/^Version: //p' /var/lib/dpkg/status)\"",
  "for d in /sys/bus/virtio/devices/*; do",
  '  read id <"$d/device"',
  '  [ "$id" = 0x0005 ] || continue',
  '  read features <"$d/features"',
  '  echo "balloon_features=$features"',
  '  [ -e "$d/driver" ] && driver=$(readlink "$d/driver") && echo "balloon_driver=${driver##*/}"',
  "done",
  "true",
].join("\n");

export interface GuestFacts {
  readonly unameR: string;
  readonly hasFlush: boolean;
  readonly hasHugetlb: boolean;
  /** Whether /lib/modules/$(uname -r) is there with its depmod index (modprobe works). */
  readonly hasModulesTree: boolean;
  /** e.g. "[always] madvise never" */
  readonly thp: string;
  readonly memTotalKiB: number;
  readonly perfVersion: string;
  /** The balloon's sysfs feature string (character i = bit i), if the device is bound. */
  readonly balloonFeatures: string | undefined;
  readonly balloonDriver: string | undefined;
}

export function parseGuestFacts(output: string): GuestFacts {
  const facts = new Map<string, string>();
  for (const line of output.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) facts.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  return {
    unameR: facts.get("uname_r") ?? "",
    hasFlush: facts.get("flush") === "yes",
    hasHugetlb: facts.get("hugetlb") === "yes",
    hasModulesTree: facts.get("modules") === "yes",
    thp: facts.get("thp") ?? "",
    memTotalKiB: Number(facts.get("mem_total_kib") ?? "0"),
    perfVersion: facts.get("perf") ?? "",
    balloonFeatures: facts.get("balloon_features") || undefined,
    balloonDriver: facts.get("balloon_driver") || undefined,
  };
}

/** bench.sh: `echo $((SZ/2)) > /proc/sys/vm/nr_overcommit_hugepages` (2 MiB pages). */
export function hugetlbOvercommitPages(sizeMiB: number): number {
  return Math.floor(sizeMiB / 2);
}

export function setHugetlbOvercommitArgv(pages: number): string[] {
  return [
    "sh",
    "-c",
    'echo "$1" > /proc/sys/vm/nr_overcommit_hugepages',
    "bb-hugetlb",
    String(pages),
  ];
}

/** The THP setting a page mode asks for; undefined leaves the kernel's own. */
export function thpSettingFor(pages: "default" | "small" | "thp" | "hugetlb"): string | undefined {
  if (pages === "thp") return "always";
  if (pages === "small") return "never";
  return undefined;
}

/** The active value of a sysfs THP setting like "always [madvise] never". */
export function activeThpSetting(text: string): string | undefined {
  return /\[(\w+)\]/.exec(text)?.[1];
}

export function setThpArgv(setting: string): string[] {
  return ["sh", "-c", 'echo "$1" > /sys/kernel/mm/transparent_hugepage/enabled', "bb-thp", setting];
}
