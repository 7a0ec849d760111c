import { parseFeatureList } from "../../core/balloon/feature-bits.js";
import { parsePropertyMapOverrides } from "../../core/balloon/property-map.js";
import { UsageError } from "../../core/errors.js";
import { parsePositiveInt } from "../../core/plan/input-checks.js";
import { checkPinCount } from "../../core/host/vcpu-pinning.js";
import { parseKernelSpec } from "../../core/plan/kernel-spec.js";
import { PLAN_DEFAULTS } from "../../core/plan/plan-defaults.js";
import { guestMemoryOf, pinFromField } from "../../core/plan/vm-options.js";
import { parseAcceleratorRequest } from "../../core/qemu/accelerator.js";
import { parseVmName } from "../../live/live-paths.js";
import { upVm, type UpOptions } from "../../live/vm-up.js";
import type { LiveVmState } from "../../live/vm-state.js";
import type { CliIo } from "../io.js";
import { readUserFile } from "../../util/user-file.js";
import { loadPlanFile } from "../load-plan.js";

export interface UpCliOptions {
  name: string;
  kernel: string[];
  features: string;
  map: string[];
  memory: string;
  vcpus: string;
  accel: string;
  qemu?: string;
  bootTimeout: string;
  plan?: string;
  config?: string;
  planKernel?: string;
  pin?: string;
  balloonModule?: string;
}

type Machine = Pick<
  UpOptions,
  "kernels" | "features" | "propertyMap" | "deviceProperties" | "memory" | "pin"
> & { readonly balloonModulePath?: string | undefined };

function pick<T extends { name: string }>(
  items: readonly T[],
  wanted: string | undefined,
  what: string,
  flag: string,
): T {
  const found =
    wanted === undefined
      ? items.length === 1
        ? items[0]
        : undefined
      : items.find((i) => i.name === wanted);
  if (found === undefined) {
    throw new UsageError(
      wanted === undefined
        ? `the plan has ${items.length} ${what}s; say which`
        : `the plan has no ${what} '${wanted}'`,
      { hint: `pass ${flag} with one of: ${items.map((i) => i.name).join(", ")}` },
    );
  }
  return found;
}

/** A plan's feature config (and kernel) for `up --plan FILE --config NAME`, as `run` would boot it. */
async function machineFromPlan(
  options: UpCliOptions,
  explicit: readonly string[],
): Promise<Machine> {
  const clash = ["kernel", "features", "map", "balloonModule"].find((f) => explicit.includes(f));
  if (clash !== undefined) {
    const flag = clash === "balloonModule" ? "balloon-module" : clash;
    throw new UsageError(`--${flag} cannot be combined with --plan (the plan defines it)`, {
      hint: "drop it, or drop --plan",
    });
  }
  const plan = await loadPlanFile(options.plan ?? "");
  const config = pick(plan.configs, options.config, "config", "--config");
  const kernel = pick(plan.kernels, options.planKernel, "kernel", "--plan-kernel");
  return {
    kernels: [kernel],
    features: config.bits,
    propertyMap: config.propertyMap,
    deviceProperties: config.deviceProperties,
    memory: guestMemoryOf(plan),
    pin: plan.pin,
    balloonModulePath: plan.balloonModule,
  };
}

function machineFromFlags(options: UpCliOptions): Machine {
  const propertyMap = parsePropertyMapOverrides(options.map);
  return {
    kernels: options.kernel.map(parseKernelSpec),
    features: parseFeatureList(options.features, propertyMap),
    propertyMap,
    balloonModulePath: options.balloonModule,
  };
}

/** The user's virtio_balloon.ko, read (and refused in one line) before anything boots. */
async function balloonModuleOf(path: string | undefined): Promise<UpOptions["balloonModule"]> {
  if (path === undefined) return undefined;
  return {
    path,
    ...(await readUserFile(path, "balloon module", "pass a built virtio_balloon.ko")),
  };
}

/** What `up` prints: the VM, and how to reach and stop it. */
function howToReach(state: LiveVmState, dir: string, upMs: number): string {
  const name = state.name;
  const nameArg = name === "default" ? "" : ` ${name}`;
  return [
    `VM ${name} is up: QEMU pid ${state.qemu?.pid ?? "?"}, ${state.accelerator}, ${state.memoryMiB} MiB, ${state.vcpus} vCPUs, kernel ${state.kernel.name} (${state.kernel.release}), balloon bits requested: ${state.requestedBits.join(", ") || "none"}${state.balloonModule === undefined ? "" : `, balloon module ${state.balloonModule.path}`}`,
    `  SSH answered ${((state.bootToSshMs ?? 0) / 1000).toFixed(1)} s after QEMU started (up took ${(upMs / 1000).toFixed(1)} s)`,
    ...(state.pinning === undefined
      ? []
      : [
          `  pinned:   ${state.pinning.vcpus.map((v) => `vCPU ${v.vcpu} -> CPU ${v.cpu}`).join(", ")}; QEMU's other threads -> CPUs ${state.pinning.others.cpus} (verified in /proc)`,
        ]),
    `  shell:    balloon-bench shell${nameArg}`,
    `  exec:     balloon-bench exec${nameArg} -- uname -r`,
    `  balloon:  balloon-bench balloon${nameArg} status | set SIZE | stats`,
    `  qmp:      balloon-bench qmp${nameArg} query-status   (socket ${state.qmpSocket})`,
    `  profile:  balloon-bench profile${nameArg} --size 256`,
    `  ssh:      ssh -i ${state.clientKeyPath} -p ${state.sshPort ?? "?"} -o UserKnownHostsFile=${state.knownHostsPath ?? ""} -o StrictHostKeyChecking=yes root@127.0.0.1`,
    `  stop:     balloon-bench down${nameArg}`,
    `  state:    ${dir}`,
    "",
  ].join("\n");
}

/** `balloon-bench up`: a VM booted as `run` boots it, left running; prints how to reach it. */
export async function upCommand(
  options: UpCliOptions,
  explicit: readonly string[],
  io: CliIo,
): Promise<void> {
  if (
    options.plan === undefined &&
    (options.config !== undefined || options.planKernel !== undefined)
  ) {
    throw new UsageError("--config and --plan-kernel pick from a plan", {
      hint: "add --plan FILE",
    });
  }
  const machine =
    options.plan !== undefined
      ? await machineFromPlan(options, explicit)
      : machineFromFlags(options);
  const vcpus = parsePositiveInt(options.vcpus, "--vcpus", 1, 2);
  const pin = options.pin === undefined ? machine.pin : pinFromField(options.pin, vcpus, "--pin");
  if (pin !== undefined) checkPinCount(pin, vcpus, options.pin === undefined ? "vm.pin" : "--pin");
  const balloonModule = await balloonModuleOf(machine.balloonModulePath);
  const started = Date.now();
  const { state, dir } = await upVm(
    {
      name: parseVmName(options.name),
      ...machine,
      memory: machine.memory ?? guestMemoryOf(PLAN_DEFAULTS),
      pin,
      accel: parseAcceleratorRequest(options.accel),
      qemu: options.qemu,
      memoryMiB: parsePositiveInt(options.memory, "--memory", 64, 2048),
      vcpus,
      bootTimeoutMs: parsePositiveInt(options.bootTimeout, "--boot-timeout", 1, 120) * 1000,
      ...(balloonModule === undefined ? {} : { balloonModule }),
    },
    (line) => io.stderr(`${line}\n`),
  );
  io.stdout(howToReach(state, dir, Date.now() - started));
}
