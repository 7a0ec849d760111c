import { UsageError } from "../errors.js";
import { parseEvents, parsePositiveInt } from "./input-checks.js";
import { parseKernelSpec } from "./kernel-spec.js";
import { defaultConfigName, type Plan } from "./plan.js";
import { PAGE_MODES, type PlanFile, type PlanFileWorkload } from "./plan-file-schema.js";
import { PlanFieldError, formatPath, planFromFile, type FieldNames } from "./plan-file.js";

/** The plan flags of `run` and `calibrate`, as the command line gives them (strings). */
export interface PlanFlagValues {
  readonly kernel: readonly string[];
  readonly size: string;
  readonly iterations: string;
  readonly warmup: string;
  readonly rounds?: string | undefined;
  readonly seed?: string | undefined;
  readonly huge?: boolean | undefined;
  readonly pages?: string | undefined;
  readonly scenario: string;
  readonly guestStats?: boolean | undefined;
  readonly accel: string;
  readonly events: string;
  readonly features: string;
  readonly map: readonly string[];
  readonly memory: string;
  readonly vcpus: string;
  readonly bootTimeout: string;
  readonly iterationTimeout?: string | undefined;
  readonly hangTimeout?: string | undefined;
  readonly settle: string;
  readonly settleMode?: string | undefined;
  readonly balloonModule?: string | undefined;
}

/** Each plan flag (by option name) and the flag text users type; with --plan they would clash. */
export const PLAN_FLAGS: Readonly<Record<keyof PlanFlagValues, string>> = {
  kernel: "--kernel",
  size: "--size",
  iterations: "--iterations",
  warmup: "--warmup",
  rounds: "--rounds",
  seed: "--seed",
  huge: "--huge",
  pages: "--pages",
  scenario: "--scenario",
  guestStats: "--guest-stats",
  accel: "--accel",
  events: "--events",
  features: "--features",
  map: "--map",
  memory: "--memory",
  vcpus: "--vcpus",
  bootTimeout: "--boot-timeout",
  iterationTimeout: "--iteration-timeout",
  hangTimeout: "--hang-timeout",
  settle: "--settle",
  settleMode: "--settle-mode",
  balloonModule: "--balloon-module",
};

/** Plan-file field path → the flag that sets it: messages about the plan name the flag. */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  seed: "--seed",
  iterations: "--iterations",
  warmup: "--warmup",
  rounds: "--rounds",
  "vm.memoryMiB": "--memory",
  "vm.vcpus": "--vcpus",
  accelerator: "--accel",
  events: "--events",
  settleMs: "--settle",
  settleMode: "--settle-mode",
  bootTimeoutS: "--boot-timeout",
  iterationTimeoutS: "--iteration-timeout",
  hangTimeoutS: "--hang-timeout",
  balloonModule: "--balloon-module",
  propertyMap: "--map",
  "configs[0].bits": "--features",
  "workloads[0].size": "--size",
  "workloads[0].pages": "--pages",
  "workloads[0].balloon": "--scenario",
};

/** The flag that sets the field at `path` (a field inside one the table names counts as it). */
export function flagOfField(path: readonly (string | number)[]): string | undefined {
  const field = formatPath(path);
  const prefix = Object.keys(FLAG_OF_FIELD)
    .filter((f) => field === f || field.startsWith(`${f}.`) || field.startsWith(`${f}[`))
    .sort((a, b) => b.length - a.length)[0];
  return prefix === undefined ? undefined : FLAG_OF_FIELD[prefix];
}

function flagNames(huge: boolean): FieldNames {
  return {
    field: (path) => flagOfField(path) ?? formatPath(path),
    value: (path, value) =>
      huge && formatPath(path) === "workloads[0].pages"
        ? "--huge"
        : `${flagOfField(path) ?? formatPath(path)} ${value}`,
    config: () => "--features",
    mapEntry: "BIT=PROPERTY, e.g. --map 6=x-device-init-reported",
  };
}

function parseScenario(text: string): PlanFileWorkload["balloon"] {
  if (text === "none" || text === "page-reporting") return text;
  const match = /^inflate-deflate:(\d+)$/.exec(text);
  if (match?.[1] !== undefined) return { "inflate-deflate": { inflate: Number(match[1]) } };
  throw new UsageError(`--scenario '${text}' is not a balloon scenario`, {
    hint: "use none, page-reporting or inflate-deflate:MiB (e.g. inflate-deflate:1024)",
  });
}

function parsePages(flags: PlanFlagValues): (typeof PAGE_MODES)[number] {
  const pages = flags.pages ?? (flags.huge === true ? "hugetlb" : "default");
  if (flags.huge === true && pages !== "hugetlb") {
    throw new UsageError(`--huge and --pages ${pages} disagree`, { hint: "drop one of them" });
  }
  const mode = PAGE_MODES.find((m) => m === pages);
  if (mode === undefined) {
    throw new UsageError(`--pages '${pages}' is not a page mode`, {
      hint: "use default, small (THP never), thp (THP always) or hugetlb",
    });
  }
  return mode;
}

function parseSettleMode(value: string): "fixed" | "rss" {
  if (value === "fixed" || value === "rss") return value;
  throw new UsageError(`--settle-mode '${value}' is not a settle mode`, {
    hint: "use fixed (sleep --settle ms, as bench.sh) or rss (until QEMU's RSS stops falling)",
  });
}

function parseAccel(value: string): "kvm" | "tcg" | "auto" {
  if (value === "kvm" || value === "tcg" || value === "auto") return value;
  throw new UsageError(`--accel '${value}' is not an accelerator`, {
    hint: "use kvm, tcg or auto",
  });
}

function parseMapFlags(entries: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    entries.map((entry) => {
      const eq = entry.indexOf("=");
      if (eq < 0)
        throw new UsageError(`malformed property map entry '${entry}'`, {
          hint: "write BIT=PROPERTY, e.g. --map 6=x-device-init-reported",
        });
      return [entry.slice(0, eq).trim(), entry.slice(eq + 1).trim()];
    }),
  );
}

/** Pure: the flags as a plan file (one config, one workload); each value checked as it is read. */
export function planFileFromFlags(flags: PlanFlagValues): PlanFile {
  const kernels = flags.kernel.map(parseKernelSpec);
  const optional = <T>(value: string | undefined, parse: (v: string) => T): T | undefined =>
    value === undefined ? undefined : parse(value);
  return {
    seed: optional(flags.seed, (v) => parsePositiveInt(v, "--seed", 0, 42)),
    iterations: parsePositiveInt(flags.iterations, "--iterations"),
    warmup: parsePositiveInt(flags.warmup, "--warmup", 0, 1),
    rounds: optional(flags.rounds, (v) => parsePositiveInt(v, "--rounds", 1, 5)),
    vm: {
      memoryMiB: parsePositiveInt(flags.memory, "--memory", 64, 2048),
      vcpus: parsePositiveInt(flags.vcpus, "--vcpus", 1, 2),
    },
    accelerator: parseAccel(flags.accel),
    events: parseEvents(flags.events),
    settleMs: parsePositiveInt(flags.settle, "--settle", 0, 3000),
    settleMode: optional(flags.settleMode, parseSettleMode),
    bootTimeoutS: parsePositiveInt(flags.bootTimeout, "--boot-timeout", 1, 120),
    iterationTimeoutS: optional(flags.iterationTimeout, (v) =>
      parsePositiveInt(v, "--iteration-timeout", 1, 600),
    ),
    hangTimeoutS: optional(flags.hangTimeout, (v) => parsePositiveInt(v, "--hang-timeout", 1, 60)),
    guestStats: flags.guestStats === true,
    balloonModule: flags.balloonModule,
    propertyMap: parseMapFlags(flags.map),
    kernels:
      kernels.length === 0
        ? undefined
        : kernels.map((k) =>
            k.build === undefined
              ? { name: k.name, path: k.kernelPath, modules: k.modulesDir, cmdline: [...k.cmdline] }
              : {
                  name: k.name,
                  tree: k.build.tree,
                  ref: k.build.ref,
                  patches: [...(k.build.patches ?? [])],
                  config: k.build.config,
                  fragments: [...(k.build.fragments ?? [])],
                  cmdline: [...k.cmdline],
                },
          ),
    configs: [{ name: "flags", bits: flags.features }],
    workloads: [
      {
        size: parsePositiveInt(flags.size, "--size", 1, 256),
        pages: parsePages(flags),
        balloon: parseScenario(flags.scenario),
      },
    ],
  };
}

/**
 * Pure: the run flags as a plan, checked like a plan file; messages name the flags. The one
 * config is named after its bits ("bits-5"), as before plans existed.
 */
export function planFromFlags(
  flags: PlanFlagValues,
  baseDir: string,
  adjust: (file: PlanFile) => PlanFile = (file) => file,
): Plan {
  let plan: Plan;
  const file = adjust(planFileFromFlags(flags));
  try {
    plan = planFromFile(file, baseDir, flagNames(flags.huge === true));
  } catch (error) {
    if (!(error instanceof PlanFieldError)) throw error;
    const flag = flagOfField(error.path);
    const message =
      flag === undefined || error.message.includes(flag)
        ? error.message
        : `${flag}: ${error.message}`;
    throw new UsageError(message, { hint: error.hint ?? "fix the flags" });
  }
  return {
    ...plan,
    // The one config of --features is named after its bits; named configs keep their names.
    configs: plan.configs.map((config) =>
      config.name === "flags" ? { ...config, name: defaultConfigName(config.bits) } : config,
    ),
  };
}
