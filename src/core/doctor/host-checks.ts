import { HOST_FILES, governorSummary, type HostState } from "../host/host-state.js";
import { parseCpuList } from "../host/cpu-list.js";
import type { DoctorCheck } from "./doctor-checks.js";

const TUNE = "`balloon-bench doctor --tune --apply` (as root; `doctor --reset` undoes it)";

function governorCheck(state: HostState): DoctorCheck {
  const name = "cpu governor";
  if (state.cpufreq === null)
    return {
      name,
      status: "ok",
      detail: "no cpufreq on this host (a VM, or a fixed clock): nothing to set",
    };
  const summary = governorSummary(state.cpufreq);
  const driver = state.cpufreq.driver === null ? "" : ` (${state.cpufreq.driver})`;
  if (Object.values(state.cpufreq.governors).every((g) => g === "performance"))
    return { name, status: "ok", detail: `performance on every online CPU${driver}` };
  return {
    name,
    status: "warn",
    detail: `${summary}${driver}: the clock follows the load, so a guest's timings drift with whatever else runs`,
    fix: `${TUNE}, or echo performance > /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor`,
  };
}

function boostCheck(state: HostState): DoctorCheck {
  const name = "cpu boost";
  if (state.boost === null)
    return {
      name,
      status: "ok",
      detail: "no boost control (intel_pstate/no_turbo, cpufreq/boost): nothing to set",
    };
  const path = `/${state.boost.source === "intel_pstate/no_turbo" ? HOST_FILES.noTurbo : HOST_FILES.cpufreqBoost}`;
  if (!state.boost.on) return { name, status: "ok", detail: `off (${path})` };
  const off = state.boost.source === "intel_pstate/no_turbo" ? "1" : "0";
  return {
    name,
    status: "warn",
    detail: `turbo/boost is on (${path}): the clock depends on temperature and on how many cores are busy`,
    fix: `${TUNE}, or echo ${off} > ${path}`,
  };
}

function smtCheck(state: HostState): DoctorCheck {
  const name = "smt";
  if (state.smt === null)
    return { name, status: "ok", detail: "unknown (no /sys/devices/system/cpu/smt/control)" };
  const { control, active } = state.smt;
  if (control !== "on" || active === false)
    return {
      name,
      status: "ok",
      detail: `${control}${active === null ? "" : `, active ${active ? 1 : 0}`}`,
    };
  return {
    name,
    status: "warn",
    detail: "SMT is on: a vCPU shares its core with whatever runs on the sibling thread",
    fix: "pin the vCPUs (--pin, vm.pin) to CPUs whose siblings stay idle, or boot the host with nosmt (doctor does not switch SMT at run time: it is not safe)",
  };
}

function thpCheck(state: HostState): DoctorCheck {
  const { enabled, defrag } = state.thp;
  if (enabled === null)
    return { name: "host thp", status: "ok", detail: "no transparent huge pages on this host" };
  return {
    name: "host thp",
    status: "ok",
    detail: `enabled ${enabled}, defrag ${defrag ?? "unknown"} (QEMU madvises guest RAM, so with madvise or always the guest is backed by 2 MiB pages when free ones exist; keep it the same on every runner)`,
  };
}

function ksmCheck(state: HostState): DoctorCheck {
  const name = "ksm";
  const path = `/${HOST_FILES.ksmRun}`;
  if (state.ksmRun === null) return { name, status: "ok", detail: "no KSM in this kernel" };
  if (state.ksmRun !== 1) return { name, status: "ok", detail: `off (${path} = ${state.ksmRun})` };
  return {
    name,
    status: "warn",
    detail: `KSM is on (${path} = 1): it merges the guest's zeroed pages`,
    fix: `echo 0 > ${path}, or run with vm.memMerge false (the default)`,
  };
}

function numaCheck(state: HostState): DoctorCheck {
  const nodes = state.numaNodes === null ? undefined : parseCpuList(state.numaNodes);
  if (nodes === undefined || nodes.length <= 1)
    return {
      name: "numa",
      status: "ok",
      detail: nodes === undefined ? "unknown" : `one node (${state.numaNodes ?? ""})`,
    };
  return {
    name: "numa",
    status: "warn",
    detail: `${nodes.length} NUMA nodes (${state.numaNodes ?? ""}): QEMU's threads and memory may land on different nodes from boot to boot`,
    fix: "pin the vCPUs to CPUs of one node (--pin; `lscpu -e` shows each CPU's node) and run balloon-bench under `numactl --membind=N --cpunodebind=N`",
  };
}

function isolationCheck(state: HostState): DoctorCheck {
  const isolated = state.isolatedCpus ?? "";
  const nohz = state.nohzFull ?? "";
  if (isolated === "" && nohz === "")
    return {
      name: "isolated cpus",
      status: "ok",
      detail:
        "none (no isolcpus= or nohz_full=): pinned vCPUs share their CPUs with the host's other tasks; for the quietest CPUs boot the host with isolcpus=LIST nohz_full=LIST and pin to them",
    };
  return {
    name: "isolated cpus",
    status: "ok",
    detail: `isolcpus ${isolated || "none"}, nohz_full ${nohz || "none"}: pin the vCPUs to these (--pin)`,
  };
}

function paranoidCheck(state: HostState): DoctorCheck {
  const value = state.perfEventParanoid;
  if (value === null || value <= 1)
    return {
      name: "perf_event_paranoid",
      status: "ok",
      detail: value === null ? "unknown" : String(value),
    };
  return {
    name: "perf_event_paranoid",
    status: "warn",
    detail: `${value}: host-side perf (perf kvm stat, profiling QEMU) is limited to root`,
    fix: "sysctl -w kernel.perf_event_paranoid=1 (only matters for perf on the host; the guest's perf is not affected)",
  };
}

function loadCheck(state: HostState): DoctorCheck {
  const cpus = state.cpus.online === null ? undefined : parseCpuList(state.cpus.online)?.length;
  const { loadAvg, cpuPressureSomeAvg10: psi } = state.load;
  const load1 = loadAvg?.[0];
  const parts = [
    load1 === undefined ? "load average unknown" : `load average ${loadAvg?.join(" ")}`,
    cpus === undefined ? undefined : `${cpus} online CPUs`,
    psi === null ? undefined : `CPU pressure some avg10 ${psi}%`,
  ].filter((p) => p !== undefined);
  const busy =
    (load1 !== undefined && cpus !== undefined && load1 > cpus / 2) || (psi !== null && psi > 10);
  return busy
    ? {
        name: "host load",
        status: "warn",
        detail: `${parts.join(", ")}: other work competes with the guest for CPUs`,
        fix: "run on an idle host (one runner per machine, no other jobs); each boot records the load it started under",
      }
    : { name: "host load", status: "ok", detail: parts.join(", ") };
}

function stealCheck(state: HostState): DoctorCheck {
  const { stealTicks, totalTicks } = state.load;
  if (stealTicks === null || totalTicks === null || totalTicks === 0)
    return { name: "steal time", status: "ok", detail: "unknown" };
  const pct = (100 * stealTicks) / totalTicks;
  const detail = `${pct.toFixed(2)} % of CPU time since the host booted`;
  return pct >= 1
    ? {
        name: "steal time",
        status: "warn",
        detail: `${detail}: this host is itself a VM whose CPUs are shared with others`,
        fix: "use a bare-metal runner for timings you compare; each iteration records the steal during its perf command",
      }
    : { name: "steal time", status: "ok", detail };
}

function hugepagesCheck(state: HostState): DoctorCheck {
  const pages = state.hugepages2M;
  return {
    name: "hugepages",
    status: "ok",
    detail:
      pages === null
        ? "no 2 MiB huge pages on this host"
        : `2 MiB pages: ${pages.total} reserved, ${pages.free} free (vm.memoryBacking hugetlb needs memoryMiB / 2 free; raise with sysctl vm.nr_hugepages)`,
  };
}

/** Pure: doctor's checks of the host settings that make timings noisy, each problem with its fix. */
export function hostStateChecks(state: HostState): DoctorCheck[] {
  return [
    governorCheck(state),
    boostCheck(state),
    smtCheck(state),
    thpCheck(state),
    ksmCheck(state),
    numaCheck(state),
    isolationCheck(state),
    paranoidCheck(state),
    loadCheck(state),
    stealCheck(state),
    hugepagesCheck(state),
  ];
}
