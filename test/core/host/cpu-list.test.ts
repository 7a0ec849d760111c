import { expect } from "chai";
import { formatCpuList, parseCpuList, readCpuList } from "../../../src/core/host/cpu-list.js";

describe("CPU lists", () => {
  it("parses the kernel's format: numbers, ranges, commas, empty", () => {
    expect(parseCpuList("0-3,8,10-11\n")).to.deep.equal([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList("2,3")).to.deep.equal([2, 3]);
    expect(parseCpuList("5")).to.deep.equal([5]);
    expect(parseCpuList("\n")).to.deep.equal([]);
  });

  it("says what is wrong with a malformed list", () => {
    expect(readCpuList("2-x")).to.deep.equal({
      ok: false,
      problem: "'2-x' is not a CPU number or range (N or N-M)",
    });
    expect(readCpuList("3-2")).to.deep.equal({ ok: false, problem: "range 3-2 runs backwards" });
    expect(readCpuList("2,2-3")).to.deep.equal({ ok: false, problem: "CPU 2 is listed twice" });
    expect(parseCpuList("1,,2")).to.equal(undefined);
  });

  it("formats CPUs compactly", () => {
    expect(formatCpuList([3, 0, 1, 2, 8, 10, 11])).to.equal("0-3,8,10-11");
    expect(formatCpuList([])).to.equal("");
    expect(formatCpuList([4])).to.equal("4");
  });
});
