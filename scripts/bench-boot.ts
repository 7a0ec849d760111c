// npm run bench:boot -- boot-to-SSH (median of several boots) and harness overhead of a
// 10-iteration alloc_once 256 MiB run, on this machine, with the accelerator `auto` picks; the
// run once per settle mode (fixed: bench.sh's sleep; rss: until QEMU's RSS stops falling), with
// the per-iteration wall and what free page reporting gave back in each.
//   BOOTS=5 ITERATIONS=10 SIZE=256 SETTLE_MODES=fixed,rss npm run bench:boot
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_SETTLE_MS } from "../src/core/plan/plan-defaults.js";
import { runExperiment } from "../src/experiment/run-experiment.js";
import { planFromFile } from "../src/core/plan/plan-file.js";
import { ResultsDir } from "../src/experiment/results-dir.js";
import type { Sample } from "../src/core/results-format/sample.js";
import { bootGuest } from "../src/machine/guest/guest-vm.js";
import { ensureGuestImage } from "../src/machine/image/guest-image.js";
import { fetchDebianKernel, resolveDebianKernel } from "../src/machine/kernel/debian-kernel.js";
import { prepareKernel } from "../src/machine/kernel/prepared-kernel.js";
import { chooseAccelerator } from "../src/core/qemu/accelerator.js";
import { readHostAccelFacts } from "../src/machine/qemu/host-accel-facts.js";
import { cacheDir } from "../src/util/paths.js";

const boots = Number(process.env["BOOTS"] ?? 5);
const iterations = Number(process.env["ITERATIONS"] ?? 10);
const sizeMiB = Number(process.env["SIZE"] ?? 256);
const settleModes = (process.env["SETTLE_MODES"] ?? "fixed,rss").split(",");
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

const cache = cacheDir();
const image = await ensureGuestImage(cache);
const kernel = await prepareKernel(
  cache,
  await fetchDebianKernel(cache, await resolveDebianKernel()),
);
const accelerator = chooseAccelerator("auto", await readHostAccelFacts());
const scratch = await mkdtemp(join(tmpdir(), "bb-bench-"));

console.log(`accelerator: ${accelerator.accelerator} (${accelerator.reason})`);
console.log(
  `kernel: ${kernel.release} (${kernel.bootMethod} boot), image ${image.hash.slice(0, 16)}`,
);
const bootTimes: number[] = [];
for (let i = 0; i < boots; i++) {
  await using guest = await bootGuest({
    qemuPath: "qemu-system-x86_64",
    accelerator,
    kernel,
    image,
    memoryMiB: 2048,
    vcpus: 2,
    balloon: { id: "balloon0", properties: [["free-page-reporting", "on"]] },
    logDir: scratch,
    bootTimeoutMs: 120_000,
  });
  bootTimes.push(guest.bootToSshMs);
  console.log(`boot ${i + 1}/${boots}: ${seconds(guest.bootToSshMs)} to SSH`);
}
console.log(
  `boot-to-SSH: median ${seconds(median(bootTimes))} of ${boots} (min ${seconds(Math.min(...bootTimes))}, max ${seconds(Math.max(...bootTimes))}); target <= 8 s`,
);

/** One run of the plan with this settle mode: where its wall time went. */
async function runWithSettle(mode: string): Promise<void> {
  const plan = planFromFile(
    {
      iterations,
      rounds: 1,
      kernels: [
        { name: "stock", path: kernel.kernelPath, modules: join(kernel.kernelPath, "../..") },
      ],
      configs: [{ name: "reporting", bits: [5] }],
      workloads: [{ size: sizeMiB }],
      vm: { memoryMiB: 2048, vcpus: 2 },
      settleMs: DEFAULT_SETTLE_MS,
      settleMode: mode === "rss" ? "rss" : "fixed",
    },
    process.cwd(),
  );
  const result = await runExperiment(
    { plan, out: join(scratch, `results-${mode}`), skipUnsupported: false, command: [] },
    {
      log: () => undefined,
      start: () => undefined,
      cell: () => undefined,
      iteration: () => undefined,
      stop: () => undefined,
    },
  );
  const results = await ResultsDir.open(result.resultsDir);
  const manifest = await results.readManifest();
  const bootToSshMs = manifest.kind === "run" ? (manifest.boots[0]?.bootToSshMs ?? 0) : 0;
  const samples = (await results.readSamples(result.cells[0]?.id ?? "")).filter((s) => !s.warmup);
  const method = samples[0]?.settle.method ?? "none";
  const sum = (f: (s: Sample) => number): number => samples.reduce((a, s) => a + f(s), 0);
  const allocMs = sum((s) => s.counters["task-clock"]?.value ?? 0);
  const guestMs = sum((s) => (s.guestPrepareMs ?? 0) + (s.guestPerfMs ?? 0));
  const perfStartupMs = sum((s) => s.guestPerfMs ?? 0) - allocMs;
  const prepareMs = sum((s) => s.guestPrepareMs ?? 0);
  const harnessMs = result.wallMs - bootToSshMs - guestMs;
  const overheadMs = result.wallMs - allocMs - bootToSshMs;
  const releasedMiB = samples.map((s) => {
    const rss = s.telemetry?.settleRss;
    return rss === undefined ? 0 : (rss.beforeBytes - rss.afterBytes) / 2 ** 20;
  });
  const quiet = samples.filter((s) => s.settle.endedBy === "quiet").length;
  console.log(
    `\n${iterations}-iteration run, alloc_once ${sizeMiB} MiB, settle ${mode} (${method}):`,
  );
  console.log(`  wall                         ${seconds(result.wallMs)}`);
  console.log(
    `  per iteration (wall)         median ${seconds(median(samples.map((s) => s.wallMs)))}`,
  );
  console.log(`  boot to SSH                  ${seconds(bootToSshMs)}`);
  console.log(`  inside alloc_once (task-clock) ${seconds(allocMs)}`);
  console.log(`  protocol: drop_caches + settle/flush   ${seconds(prepareMs)}`);
  console.log(`  protocol: perf stat start-up and exit   ${seconds(perfStartupMs)}`);
  console.log(
    `  harness: SSH, CSV copy, parsing, results, setup, shutdown   ${seconds(harnessMs)}`,
  );
  console.log(
    `  RSS given back across the settle: median ${median(releasedMiB).toFixed(1)} MiB` +
      (method === "rss" ? `; ended quiet ${quiet}/${samples.length}, else at the limit` : ""),
  );
  console.log(
    `  overhead (wall - alloc_once - boot) / wall: ${((100 * overheadMs) / result.wallMs).toFixed(1)} %`,
  );
  console.log(
    `  harness-only overhead (wall - boot - time in the guest's protocol) / wall: ${((100 * harnessMs) / result.wallMs).toFixed(1)} %; target <= 5 %`,
  );
}

for (const mode of settleModes) await runWithSettle(mode);
await rm(scratch, { recursive: true, force: true });
