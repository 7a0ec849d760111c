import { expect } from "chai";
import { describeNumaPlacement, parseNumaMaps } from "../../../src/core/host/numa-placement.js";

// Lines as /proc/PID/numa_maps prints them (the first two recorded on our machine; the hugetlb
// line as a 2-node host prints a memfd-hugetlb mapping).
const NUMA_MAPS = `557ff8561000 default file=/usr/bin/head mapped=2 mapmax=2 N0=2 kernelpagesize_kB=4
557ff856c000 default file=/usr/bin/head anon=1 dirty=1 active=0 N0=1 kernelpagesize_kB=4
7f2a00000000 default file=/memfd:mem0\\040(deleted) huge dirty=3 N0=1 N1=2 kernelpagesize_kB=2048
7ffd1e9f2000 default stack anon=5 dirty=5 N1=5 kernelpagesize_kB=4
`;

describe("where QEMU's memory is (numa_maps)", () => {
  it("sums resident KiB per node, in each mapping's page size", () => {
    expect(parseNumaMaps(NUMA_MAPS)).to.deep.equal({ "0": 12 + 2048, "1": 4096 + 20 });
    expect(parseNumaMaps("")).to.deep.equal({});
  });

  it("says it in words", () => {
    expect(describeNumaPlacement({ "1": 20, "0": 2 * 1024 * 1024 })).to.equal(
      "node 0: 2.0 GiB, node 1: 0 MiB",
    );
    expect(describeNumaPlacement({})).to.equal("no resident memory");
  });
});
