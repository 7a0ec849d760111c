import { expect } from "chai";
import { UsageError } from "../../../src/core/errors.js";
import type { RunManifest } from "../../../src/core/results-format/manifest.js";
import { mergeManifests } from "../../../src/core/results-format/merge-manifests.js";
import { FINGERPRINT, runCell, runManifest } from "../../helpers/manifests.js";

describe("merging shards", () => {
  const fingerprint = FINGERPRINT;
  const shard = (index: number, extra: Partial<RunManifest> = {}) => ({
    dir: `s${index}`,
    manifest: runManifest({
      plan: { hash: "h", seed: 1, record: {} },
      shard: { index, count: 2 },
      fingerprint,
      cells: [runCell(`c${index}`, { status: "complete" })],
      ...extra,
    }),
  });

  it("merges shards 1..N of one plan in shard order", () => {
    const merged = mergeManifests([shard(2), shard(1)]);
    expect(merged.cells.map((c) => [c.id, c.status])).to.deep.equal([
      ["c1", "complete"],
      ["c2", "complete"],
    ]);
    expect(merged.shard).to.equal(null);
  });

  it("refuses other plans, seeds and environments, naming the difference", () => {
    expect(() =>
      mergeManifests([shard(1), shard(2, { plan: { hash: "other", seed: 1, record: {} } })]),
    ).to.throw(UsageError, "s2 and s1 come from different plans");
    expect(() =>
      mergeManifests([
        shard(1),
        shard(2, { fingerprint: { ...fingerprint, qemuVersion: "8.2.2" } }),
      ]),
    ).to.throw(
      UsageError,
      's2 was measured in a different environment from s1: qemuVersion "7.2.0" vs "8.2.2"',
    );
    expect(() => mergeManifests([shard(1), shard(2, { shard: { index: 2, count: 3 } })])).to.throw(
      UsageError,
      "s2 is shard 2/3, but s1 is one of 2",
    );
  });
});
