import { expect } from "chai";
import {
  chooseAccelerator,
  guestPmu,
  kvmUsability,
  parseAcceleratorRequest,
} from "../../../src/core/qemu/accelerator.js";
import { EnvironmentError, UsageError } from "../../../src/core/errors.js";

describe("accelerator choice", () => {
  const pvm = { kvmDevice: "ok", kvmModules: ["kvm", "kvm_pvm"] } as const;
  const intel = { kvmDevice: "ok", kvmModules: ["kvm", "kvm_intel"] } as const;
  const none = { kvmDevice: "missing", kvmModules: [] } as const;

  it("auto never picks PVM KVM, which cannot boot a stock kernel, and says why", () => {
    const choice = chooseAccelerator("auto", pvm);
    expect(choice.accelerator).to.equal("tcg");
    expect(choice.cpu).to.equal("max");
    expect(choice.reason).to.contain("kvm_pvm");
  });

  it("auto picks KVM with -cpu host on a real KVM host", () => {
    const choice = chooseAccelerator("auto", intel);
    expect([choice.accelerator, choice.cpu]).to.deep.equal(["kvm", "host"]);
    expect(choice.warnings).to.deep.equal([]);
  });

  it("auto falls to TCG without /dev/kvm, recording it", () => {
    expect(chooseAccelerator("auto", none).reason).to.equal(
      "auto: chose TCG because /dev/kvm does not exist (no KVM module loaded, or no virtualization support)",
    );
  });

  it("honours an explicit kvm on PVM but warns; refuses kvm without /dev/kvm", () => {
    const choice = chooseAccelerator("kvm", pvm);
    expect(choice.accelerator).to.equal("kvm");
    expect(choice.warnings[0]).to.contain("kvm_pvm");
    expect(() => chooseAccelerator("kvm", none)).to.throw(
      EnvironmentError,
      "KVM was requested but /dev/kvm does not exist",
    );
  });

  it("reports /dev/kvm permission problems", () => {
    expect(
      kvmUsability({ kvmDevice: "no-access", kvmModules: ["kvm", "kvm_amd"] }).reason,
    ).to.contain("group kvm");
  });

  it("rejects unknown accelerator names", () => {
    expect(() => parseAcceleratorRequest("hvf")).to.throw(UsageError, "unknown accelerator 'hvf'");
  });

  it("says whether the guest sees a hardware PMU: KVM -cpu host yes, TCG no", () => {
    expect(guestPmu(chooseAccelerator("auto", intel))).to.deep.equal({
      visible: true,
      reason: "KVM -cpu host passes the host's PMU to the guest",
    });
    const tcg = guestPmu(chooseAccelerator("auto", pvm));
    expect(tcg.visible).to.equal(false);
    expect(tcg.reason).to.contain("tcg -cpu max gives the guest no hardware PMU");
  });
});
