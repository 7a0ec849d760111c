import { join } from "node:path";
import { parseEvents, parsePositiveInt } from "../core/plan/input-checks.js";
import { runExperiment, type ExperimentResult } from "../experiment/run-experiment.js";
import { plainReporter, ttyReporter, type RunReporter } from "../experiment/run-reporter.js";
import { BalloonBenchError, UsageError } from "../core/errors.js";
import { parseKernelSpec } from "../core/plan/kernel-spec.js";
import { defaultConfigName, type Plan } from "../core/plan/plan.js";
import {
  PlanFieldError,
  formatPath,
  loadPlanFile,
  planFromFile,
  type PlanFile,
} from "../core/plan/plan-file.js";
import { parseShard } from "../core/plan/shard.js";
import { ResultsDir } from "../experiment/results-dir.js";
import { renderSummary, summarizeSamples } from "../core/results-format/summary.js";
import { setInterruptNote } from "./process-guard.js";
import type { CliIo, RunCliOptions } from "./program.js";

/** Flags that define the plan; with --plan they would silently disagree with the file. */
export const PLAN_FLAGS = {
  kernel: "--kernel",
  size: "--size",
  iterations: "--iterations",
  warmup: "--warmup",
  rounds: "--rounds",
  seed: "--seed",
  huge: "--huge",
  pages: "--pages",
  scenario: "--scenario",
  accel: "--accel",
  events: "--events",
  features: "--features",
  map: "--map",
  memory: "--memory",
  vcpus: "--vcpus",
  bootTimeout: "--boot-timeout",
  settle: "--settle",
  balloonModule: "--balloon-module",
  guestStats: "--guest-stats",
} as const;

/** Which flag a plan field comes from, so flag errors name the flag, not the plan field. */
const FLAG_OF_FIELD: Record<string, string> = {
  rounds: "--rounds",
  "configs[0].bits": "--features",
  "workloads[0].size": "--size",
  "workloads[0].balloon.inflate-deflate.inflate": "--scenario",
  propertyMap: "--map",
};

function defaultOutDir(prefix: string): string {
  return join("results", `${prefix}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
}

function parseScenario(text: string): NonNullable<PlanFile["workloads"]>[number]["balloon"] {
  if (text === "none" || text === "page-reporting") return text;
  const match = /^inflate-deflate:(\d+)$/.exec(text);
  if (match?.[1] !== undefined) return { "inflate-deflate": { inflate: Number(match[1]) } };
  throw new UsageError(`--scenario '${text}' is not a balloon scenario`, {
    hint: "use none, page-reporting or inflate-deflate:MiB (e.g. inflate-deflate:1024)",
  });
}

function parsePages(options: RunCliOptions): "default" | "small" | "thp" | "hugetlb" {
  const pages = options.pages ?? (options.huge === true ? "hugetlb" : "default");
  if (options.huge === true && pages !== "hugetlb") {
    throw new UsageError(`--huge and --pages ${pages} disagree`, { hint: "drop one of them" });
  }
  if (!["default", "small", "thp", "hugetlb"].includes(pages)) {
    throw new UsageError(`--pages '${pages}' is not a page mode`, {
      hint: "use default, small (THP never), thp (THP always) or hugetlb",
    });
  }
  return pages as "default" | "small" | "thp" | "hugetlb";
}

/** Pure: the run flags as a plan (one config, one workload), checked like a plan file. */
export function planFromFlags(options: RunCliOptions): Plan {
  const kernels = options.kernel.map(parseKernelSpec);
  const accel = options.accel;
  if (accel !== "kvm" && accel !== "tcg" && accel !== "auto") {
    throw new UsageError(`--accel '${accel}' is not an accelerator`, {
      hint: "use kvm, tcg or auto",
    });
  }
  const maps = Object.fromEntries(
    options.map.map((entry) => {
      const eq = entry.indexOf("=");
      if (eq < 0)
        throw new UsageError(`malformed property map entry '${entry}'`, {
          hint: "write BIT=PROPERTY, e.g. --map 6=x-device-init-reported",
        });
      return [entry.slice(0, eq).trim(), entry.slice(eq + 1).trim()];
    }),
  );
  const file: PlanFile = {
    ...(options.seed === undefined ? {} : { seed: parsePositiveInt(options.seed, "--seed", 0) }),
    iterations: parsePositiveInt(options.iterations, "--iterations"),
    warmup: parsePositiveInt(options.warmup, "--warmup", 0),
    ...(options.rounds === undefined
      ? {}
      : { rounds: parsePositiveInt(options.rounds, "--rounds") }),
    vm: {
      memoryMiB: parsePositiveInt(options.memory, "--memory", 64),
      vcpus: parsePositiveInt(options.vcpus, "--vcpus"),
    },
    accelerator: accel,
    events: parseEvents(options.events),
    settleMs: parsePositiveInt(options.settle, "--settle", 0),
    bootTimeoutS: parsePositiveInt(options.bootTimeout, "--boot-timeout"),
    guestStats: options.guestStats === true,
    ...(options.balloonModule === undefined ? {} : { balloonModule: options.balloonModule }),
    propertyMap: maps,
    ...(kernels.length === 0
      ? {}
      : {
          kernels: kernels.map((k) => ({
            name: k.name,
            path: k.kernelPath,
            ...(k.modulesDir === undefined ? {} : { modules: k.modulesDir }),
            cmdline: [...k.cmdline],
          })),
        }),
    configs: [{ name: "", bits: options.features }],
    workloads: [
      {
        size: parsePositiveInt(options.size, "--size"),
        pages: parsePages(options),
        balloon: parseScenario(options.scenario),
      },
    ],
  };
  try {
    const plan = planFromFile(file, process.cwd());
    // The one config is named after its bits, as before plans existed.
    const [config] = plan.configs;
    if (config === undefined) return plan;
    const name = defaultConfigName(config.bits);
    return { ...plan, configs: [{ ...config, name }] };
  } catch (error) {
    if (!(error instanceof PlanFieldError)) throw error;
    const field = formatPath(error.path);
    const flag =
      FLAG_OF_FIELD[field] ?? Object.entries(FLAG_OF_FIELD).find(([f]) => field.startsWith(f))?.[1];
    const message = error.message
      .replace(/^size /, "--size ")
      .replace(/^rounds /, "--rounds ")
      .replace(/^hugetlb needs a size/, "--huge needs a --size");
    throw new UsageError(
      flag === undefined || message.includes(flag) ? message : `${flag}: ${message}`,
      {
        hint: (error.hint ?? "")
          .replace(/\buse size\b/, "use --size")
          .replace("vm.memoryMiB", "--memory")
          .replace(/^set rounds/, "set --rounds"),
      },
    );
  }
}

export interface ParsedRun {
  readonly plan: Plan;
  readonly out: string;
}

/** --plan FILE or the plan flags (not both), and --out. */
export async function resolveRun(
  options: RunCliOptions,
  explicitFlags: readonly string[],
  outPrefix = "run",
): Promise<ParsedRun> {
  if (options.plan === undefined) {
    return { plan: planFromFlags(options), out: options.out ?? defaultOutDir(outPrefix) };
  }
  const clash = explicitFlags.find((f) => f in PLAN_FLAGS);
  if (clash !== undefined) {
    const flag = PLAN_FLAGS[clash as keyof typeof PLAN_FLAGS];
    throw new UsageError(`${flag} cannot be combined with --plan (the plan file defines it)`, {
      hint: `set it in ${options.plan}, or drop --plan`,
    });
  }
  const { plan } = await loadPlanFile(options.plan);
  return { plan, out: options.out ?? defaultOutDir(outPrefix) };
}

export function makeReporter(io: CliIo): RunReporter {
  return process.stderr.isTTY && process.env["CI"] === undefined
    ? ttyReporter(process.stderr)
    : plainReporter((line) => io.stderr(`${line}\n`));
}

/** Per cell: the mean ± sd table, read back from disk (resumed iterations included). */
export async function printExperimentResult(result: ExperimentResult, io: CliIo): Promise<void> {
  const results = await ResultsDir.open(result.resultsDir);
  for (const cell of result.cells) {
    const samples = await results.readSamples(cell.id);
    if (samples.length === 0) continue;
    io.stdout(
      `\n${cell.kernel}, ${cell.config}, ${cell.workload} (${result.accelerator.accelerator})\n`,
    );
    io.stdout(
      `${renderSummary(summarizeSamples(samples), { accelerator: result.accelerator.accelerator })}\n`,
    );
  }
  for (const skipped of result.skipped)
    io.stdout(`\nskipped config ${skipped.config}: ${skipped.reason}\n`);
  io.stdout(`\nresults: ${result.resultsDir}\n`);
}

/** Failed cells make the run exit 1 after everything else ran; the error lists them. */
export function assertNoFailedCells(result: ExperimentResult): void {
  if (result.failed.length === 0) return;
  const list = result.failed.map((f) => `${f.cell} (${f.reason})`).join("; ");
  throw new BalloonBenchError(`${result.failed.length} cell(s) failed: ${list}`, {
    hint: `see the console tails in ${join(result.resultsDir, "manifest.json")}; re-run the same command to retry them`,
  });
}

export async function runCommand(
  options: RunCliOptions,
  explicitFlags: readonly string[],
  io: CliIo,
): Promise<void> {
  const { plan, out } = await resolveRun(options, explicitFlags);
  const reporter = makeReporter(io);
  const result = await runExperiment(
    {
      plan,
      out,
      qemu: options.qemu,
      skipUnsupported: options.skipUnsupported === true,
      shard: options.shard === undefined ? undefined : parseShard(options.shard),
      command: process.argv.slice(2),
    },
    reporter,
    (dir) =>
      setInterruptNote(
        `balloon-bench: completed iterations are saved in ${dir}; to resume, run the same command again with --out ${dir}`,
      ),
  );
  setInterruptNote(undefined);
  await printExperimentResult(result, io);
  assertNoFailedCells(result);
}
