import { expect } from "chai";
import {
  NO_PROGRESS,
  advanceMakeProgress,
  describeMakeProgress,
} from "../../../src/core/kernel/make-progress.js";

describe("make-progress", () => {
  it("counts Kbuild's CC lines, built-in and module, and ignores the rest", () => {
    const lines = [
      "  SYNC    include/config/auto.conf",
      "  CC      mm/huge_memory.o",
      "  AR      mm/built-in.a",
      "  CC [M]  drivers/virtio/virtio_balloon.o",
      "  LD [M]  drivers/virtio/virtio_balloon.ko",
      "mm/huge_memory.c:12:1: warning: CC is not a compiler here",
    ];
    const progress = lines.reduce(advanceMakeProgress, NO_PROGRESS);
    expect(progress).to.deep.equal({ compiled: 2, latest: "drivers/virtio/virtio_balloon.o" });
    expect(describeMakeProgress(progress)).to.equal(
      "2 files compiled, latest drivers/virtio/virtio_balloon.o",
    );
    expect(describeMakeProgress(NO_PROGRESS)).to.equal("starting");
  });
});
