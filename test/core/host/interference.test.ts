import { expect } from "chai";
import {
  interferenceBetween,
  interferenceOutliers,
  parseTaskStatTicks,
  type HostSample,
  type Interference,
} from "../../../src/core/host/interference.js";
import type { Sample } from "../../../src/core/results-format/sample.js";

// A real /proc/PID/task/TID/stat line of a QEMU thread (comm with a space and parentheses).
const STAT =
  "29617 (CPU 0/TCG) S 1 29610 29610 0 -1 4194368 10 0 0 0 152 31 0 0 20 0 4 0 1234 0 0 18446744073709551615 0 0 0 0 0 0 0 4096 0 0 0 0 -1 0 0 0 0 0 0";

const sample = (ticks: [number, number][], extra: Partial<HostSample> = {}): HostSample => ({
  threadTicks: new Map(ticks),
  vcpuThreadIds: [11, 12],
  cpuPressureTotalUs: null,
  cpuPressureAvg10: null,
  procsRunning: 3,
  cpuTicks: null,
  ...extra,
});

describe("host interference across an iteration", () => {
  it("reads utime + stime of a task, whatever its name holds", () => {
    expect(parseTaskStatTicks(STAT)).to.equal(183);
    expect(parseTaskStatTicks("1 (a) b) S 0 0 0 0 0 0 0 0 0 0 7 8 0")).to.equal(15);
  });

  it("splits QEMU's host CPU time into vCPU threads and the others, new threads included", () => {
    const before = sample(
      [
        [10, 100],
        [11, 1000],
        [12, 2000],
      ],
      { cpuPressureTotalUs: 1_000_000, cpuTicks: { steal: 10, total: 1000 } },
    );
    const after = sample(
      [
        [10, 104],
        [11, 1100],
        [12, 2050],
        [13, 3],
      ],
      {
        cpuPressureTotalUs: 1_250_000,
        cpuPressureAvg10: 2.5,
        cpuTicks: { steal: 15, total: 1200 },
      },
    );
    expect(interferenceBetween(before, after)).to.deep.equal({
      nonVcpuCpuMs: 70,
      nonVcpuThreads: 2,
      vcpuCpuMs: 1500,
      cpuPressureStallMs: 250,
      cpuPressureAvg10: 2.5,
      procsRunning: 3,
      hostStealPct: 2.5,
    });
  });

  const quiet: Interference = {
    nonVcpuCpuMs: 40,
    nonVcpuThreads: 3,
    vcpuCpuMs: 1000,
    cpuPressureStallMs: null,
    cpuPressureAvg10: null,
    procsRunning: 2,
    hostStealPct: 0,
  };
  const it_ = (iteration: number, boot: string, nonVcpuCpuMs: number) =>
    ({
      iteration,
      warmup: false,
      boot,
      telemetry: {
        rssBeforeBytes: 0,
        rssAfterBytes: 0,
        balloonActualBytes: 0,
        vmstatDeltas: {},
        interference: { ...quiet, nonVcpuCpuMs },
      },
    }) satisfies Partial<Sample>;

  it("flags an iteration far above its boot's others (modified z or twice the median)", () => {
    const samples = [it_(1, "b1", 40), it_(2, "b1", 42), it_(3, "b1", 180), it_(4, "b1", 41)];
    expect(interferenceOutliers(samples, "stock/bits-5")).to.deep.equal([
      "stock/bits-5: iteration 3 (boot b1) ran under more host load than its boot's others: QEMU's non-vCPU threads used 180 ms of host CPU (median 42 ms)",
    ]);
  });

  it("compares within the cell when boots ran fewer than 3 iterations, and ignores small excesses", () => {
    const samples = [it_(1, "b1", 40), it_(2, "b2", 45), it_(3, "b3", 200), it_(4, "b4", 38)];
    expect(interferenceOutliers(samples, "c")).to.deep.equal([
      "c: iteration 3 (boot b3) ran under more host load than the cell's others: QEMU's non-vCPU threads used 200 ms of host CPU (median 43 ms)",
    ]);
    const tiny = [it_(1, "b1", 2), it_(2, "b1", 2), it_(3, "b1", 9), it_(4, "b1", 2)];
    expect(interferenceOutliers(tiny, "c")).to.deep.equal([]);
    expect(interferenceOutliers(samples.slice(0, 2), "c")).to.deep.equal([]);
  });
});
