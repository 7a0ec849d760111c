import { doctorExitCode, renderDoctor } from "../../core/doctor/doctor-checks.js";
import { UsageError } from "../../core/errors.js";
import { parseThpMode, renderTuningPlan, tuningPlan } from "../../core/host/host-tuning.js";
import { runDoctor } from "../../machine/doctor.js";
import { applyTuning, defaultTuneStatePath, resetTuning } from "../../machine/host/host-tuner.js";
import { readHostState } from "../../machine/host/read-host-state.js";
import type { CliIo } from "../io.js";

export interface DoctorCliOptions {
  qemu?: string;
  json?: boolean;
  tune?: boolean;
  apply?: boolean;
  reset?: boolean;
  thp?: string;
}

/** Where doctor reads and writes host settings; tests pass a fake root and state file. */
export interface DoctorHost {
  readonly root: string;
  readonly isRoot: boolean;
  readonly statePath: string;
}

function realHost(): DoctorHost {
  return {
    root: "/",
    isRoot: process.getuid?.() === 0,
    statePath: defaultTuneStatePath(process.env),
  };
}

/** `doctor --tune [--thp MODE] [--apply]`: shows, then (as root) sets, the benchmark settings. */
async function tune(options: DoctorCliOptions, io: CliIo, host: DoctorHost): Promise<void> {
  const thp = options.thp === undefined ? undefined : parseThpMode(options.thp);
  const plan = tuningPlan(await readHostState(host.root), { thp });
  if (options.apply === true) await applyTuning(host.root, plan.changes, host);
  if (options.json === true) {
    io.stdout(`${JSON.stringify({ applied: options.apply === true, ...plan }, null, 2)}\n`);
    return;
  }
  io.stdout(`${renderTuningPlan(plan, options.apply === true)}\n`);
  io.stdout(
    options.apply === true
      ? `previous values saved in ${host.statePath}; \`balloon-bench doctor --reset\` restores them\n`
      : "run `balloon-bench doctor --tune --apply` as root to set these (`doctor --reset` restores them)\n",
  );
}

async function reset(options: DoctorCliOptions, io: CliIo, host: DoctorHost): Promise<void> {
  const restored = await resetTuning(host.root, host);
  if (options.json === true) {
    io.stdout(`${JSON.stringify({ restored }, null, 2)}\n`);
    return;
  }
  for (const entry of restored)
    io.stdout(`restored  ${entry.setting}: ${entry.value}  (/${entry.path})\n`);
  io.stdout(`removed ${host.statePath}\n`);
}

/**
 * `balloon-bench doctor`: one line per check, each warning with its fix; exit 1 when run cannot
 * work. `--tune` shows the benchmark settings it would set, `--apply` sets them, `--reset` undoes.
 */
export async function doctorCommand(
  options: DoctorCliOptions,
  io: CliIo,
  host: DoctorHost = realHost(),
): Promise<void> {
  if (options.reset === true) {
    if (options.tune === true || options.apply === true || options.thp !== undefined)
      throw new UsageError("--reset cannot be combined with --tune, --apply or --thp", {
        hint: "reset first, then tune again",
      });
    return reset(options, io, host);
  }
  if (options.tune === true || options.apply === true || options.thp !== undefined)
    return tune(options, io, host);
  const checks = await runDoctor({ qemu: options.qemu, hostRoot: host.root });
  io.stdout(
    options.json === true
      ? `${JSON.stringify({ checks }, null, 2)}\n`
      : `${renderDoctor(checks)}\n`,
  );
  io.setExitCode(doctorExitCode(checks));
}
