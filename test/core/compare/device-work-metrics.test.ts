import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { buildComparison, type CellData } from "../../../src/core/compare/compare-model.js";
import {
  DEVICE_WORK_METRICS,
  withDeviceWorkDirections,
  withDeviceWorkMetrics,
} from "../../../src/core/compare/device-work-metrics.js";
import { loadCells } from "../../../src/experiment/load-cells.js";

const MiB = 1024 * 1024;
const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../fixtures/results/${name}`, import.meta.url));

/** Recorded cells with a settle RSS fall set per kernel (the fixture predates the telemetry). */
async function withSettleRss(fallMiB: (kernel: string, i: number) => number): Promise<CellData[]> {
  const cells = await loadCells([fixture("thp-boots")]);
  return cells.map((cell) => ({
    ...cell,
    samples: cell.samples.map((s, i) => ({
      ...s,
      telemetry:
        s.telemetry === undefined
          ? undefined
          : {
              ...s.telemetry,
              settleRss: {
                beforeBytes: 1000 * MiB,
                afterBytes: (1000 - fallMiB(s.kernel, i)) * MiB,
              },
            },
    })),
  }));
}

describe("device-work-metrics", () => {
  it("adds nothing unless asked, and nothing for samples without the telemetry", async () => {
    const cells = await loadCells([fixture("thp-boots")]);
    expect(withDeviceWorkMetrics(cells, false)).to.deep.equal(cells);
    const added = withDeviceWorkMetrics(cells, true);
    expect(
      added.flatMap((c) => c.samples).some((s) => DEVICE_WORK_METRICS.settle in s.counters),
    ).to.equal(false);
  });

  it("compares what reporting gave back, boot-level: more given back reads as an improvement", async () => {
    const cells = await withSettleRss((kernel, i) =>
      kernel === "thp-never" ? 250 + (i % 3) : 2 + (i % 2),
    );
    const report = buildComparison(withDeviceWorkMetrics(cells, true), {
      directions: withDeviceWorkDirections(new Map(), true),
    });
    const settle = report.comparisons.find((c) => c.metric === DEVICE_WORK_METRICS.settle);
    expect(settle?.baseline.boots).to.equal(5);
    expect(settle?.verdict).to.equal("improvement");
    expect(settle?.deltaPct).to.be.above(1000);
  });

  it("keeps the user's own direction for a device metric", () => {
    const user = new Map([[DEVICE_WORK_METRICS.settle, "lower" as const]]);
    const merged = withDeviceWorkDirections(user, true);
    expect(merged.get(DEVICE_WORK_METRICS.settle)).to.equal("lower");
    expect(merged.get(DEVICE_WORK_METRICS.inflate)).to.equal("higher");
    expect(withDeviceWorkDirections(user, false).size).to.equal(1);
  });
});
