import { expect } from "chai";
import { featureFindings } from "../../../src/core/balloon/feature-findings.js";

describe("feature verification", () => {
  it("says in words which requested bit was not offered or not negotiated", () => {
    expect(featureFindings([5, 6], [1, 5, 6], [1, 5], "patched")).to.deep.equal([
      "bit 6 requested and offered, but kernel patched did not negotiate it",
    ]);
    expect(featureFindings([7], [1], [1], "k")).to.deep.equal([
      "bit 7 requested, but the device did not offer it",
    ]);
    expect(featureFindings([5], [1, 5], [1, 5], "k")).to.deep.equal([]);
  });
});
