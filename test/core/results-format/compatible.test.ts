import { expect } from "chai";
import { fingerprintDifference } from "../../../src/core/results-format/compatible.js";
import { FINGERPRINT } from "../../helpers/manifests.js";

describe("compatibility of runs", () => {
  it("names the first differing environment field", () => {
    const base = FINGERPRINT;
    expect(fingerprintDifference(base, { ...base })).to.equal(undefined);
    expect(fingerprintDifference(base, { ...base, accelerator: "tcg" })).to.equal(
      'accelerator "kvm" vs "tcg"',
    );
  });
});
