import { z } from "zod";
import { UsageError } from "../errors.js";
import { HOST_FILES, cpufreqFiles, type HostState } from "./host-state.js";

/**
 * `doctor --tune`: the usual benchmark settings (pyperf's `system tune`, mmtests, LKP): the
 * performance governor, boost off, KSM off, and THP as the plan needs. SMT, C-states and IRQ
 * affinity are left alone (switching SMT at run time is not safe; the others need per-platform
 * care). Pure: what to write where; machine/host/host-tuner.ts writes it.
 */
export const THP_MODES = ["always", "madvise", "never"] as const;
export type ThpMode = (typeof THP_MODES)[number];

export function parseThpMode(value: string): ThpMode {
  const mode = THP_MODES.find((m) => m === value);
  if (mode === undefined)
    throw new UsageError(`--thp '${value}' is not a THP mode`, {
      hint: "use always, madvise or never (default: leave THP as it is)",
    });
  return mode;
}

export interface TuneChange {
  /** The setting's name, as doctor and hostSettings() call it. */
  readonly setting: string;
  /** The file, relative to the root. */
  readonly path: string;
  readonly from: string;
  readonly to: string;
}

export interface TuningPlan {
  readonly changes: readonly TuneChange[];
  /** What is already right, or left alone, in words. */
  readonly notes: readonly string[];
}

function governorChanges(state: HostState, notes: string[]): TuneChange[] {
  if (state.cpufreq === null) {
    notes.push("governor: no cpufreq on this host, nothing to set");
    return [];
  }
  const { available, governors } = state.cpufreq;
  if (available.length > 0 && !available.includes("performance")) {
    notes.push(`governor: 'performance' is not offered (only ${available.join(", ")}); left alone`);
    return [];
  }
  const changes = Object.entries(governors)
    .filter(([, governor]) => governor !== "performance")
    .map(([cpu, governor]) => ({
      setting: `governor cpu${cpu}`,
      path: cpufreqFiles(Number(cpu)).governor,
      from: governor,
      to: "performance",
    }));
  if (changes.length === 0) notes.push("governor: already performance");
  return changes;
}

function boostChange(state: HostState, notes: string[]): TuneChange[] {
  if (state.boost === null) {
    notes.push("boost: no boost control on this host, nothing to set");
    return [];
  }
  if (!state.boost.on) {
    notes.push("boost: already off");
    return [];
  }
  return state.boost.source === "intel_pstate/no_turbo"
    ? [{ setting: "boost", path: HOST_FILES.noTurbo, from: "0", to: "1" }]
    : [{ setting: "boost", path: HOST_FILES.cpufreqBoost, from: "1", to: "0" }];
}

function ksmChange(state: HostState, notes: string[]): TuneChange[] {
  if (state.ksmRun === null) {
    notes.push("ksm: not in this kernel");
    return [];
  }
  if (state.ksmRun !== 1) {
    notes.push(`ksm: already off (${state.ksmRun})`);
    return [];
  }
  return [{ setting: "ksm", path: HOST_FILES.ksmRun, from: "1", to: "0" }];
}

function thpChange(state: HostState, thp: ThpMode | undefined, notes: string[]): TuneChange[] {
  const current = state.thp.enabled;
  if (thp === undefined) {
    notes.push(`thp: left as it is (${current ?? "unknown"}; --thp always|madvise|never sets it)`);
    return [];
  }
  if (current === null) {
    notes.push("thp: no transparent huge pages on this host");
    return [];
  }
  if (current === thp) {
    notes.push(`thp: already ${thp}`);
    return [];
  }
  return [{ setting: "thp.enabled", path: HOST_FILES.thpEnabled, from: current, to: thp }];
}

/** Pure: the writes that bring this host to the benchmark settings, and notes on the rest. */
export function tuningPlan(state: HostState, options: { readonly thp?: ThpMode }): TuningPlan {
  const notes: string[] = [];
  const changes = [
    ...governorChanges(state, notes),
    ...boostChange(state, notes),
    ...ksmChange(state, notes),
    ...thpChange(state, options.thp, notes),
  ];
  if (state.smt?.control === "on")
    notes.push("smt: on, left alone (boot with nosmt, or pin to CPUs with idle siblings)");
  return { changes, notes };
}

/** Pure: the plan as doctor --tune prints it. */
export function renderTuningPlan(plan: TuningPlan, applied: boolean): string {
  const verb = applied ? "set" : "would set";
  const lines = plan.changes.map(
    (c) => `${verb}  ${c.setting}: ${c.from} -> ${c.to}  (/${c.path})`,
  );
  if (plan.changes.length === 0) lines.push("nothing to change");
  return [...lines, ...plan.notes.map((n) => `note  ${n}`)].join("\n");
}

/** What `--apply` saved, so `--reset` can put it back. */
export const tuneStateSchema = z.object({
  schema: z.literal(1),
  root: z.string(),
  appliedAt: z.string(),
  /** Each file's value before the first --apply that changed it. */
  previous: z.array(z.object({ setting: z.string(), path: z.string(), value: z.string() })),
});
export type TuneState = z.infer<typeof tuneStateSchema>;

/**
 * Pure: the saved state after applying `changes`: a file already saved by an earlier --apply
 * keeps its first value, so one --reset returns the host to where it was before any --apply.
 */
export function savedState(
  existing: TuneState | undefined,
  changes: readonly TuneChange[],
  root: string,
  appliedAt: string,
): TuneState {
  const previous = [...(existing?.previous ?? [])];
  for (const change of changes) {
    if (!previous.some((p) => p.path === change.path))
      previous.push({ setting: change.setting, path: change.path, value: change.from });
  }
  return { schema: 1, root, appliedAt: existing?.appliedAt ?? appliedAt, previous };
}
