import { expect } from "chai";
import {
  buildErrorLines,
  describeMakeFailure,
  makeArgv,
  missingDependenciesHint,
  modulesInstallArgv,
} from "../../../src/core/kernel/kernel-build-plan.js";
import { BalloonBenchError } from "../../../src/core/errors.js";

const FAILED_LOG = `  CC      mm/huge_memory.o
mm/huge_memory.c: In function 'hugepage_init':
mm/huge_memory.c:61:9: error: 'TRANSPARENT_HUGEPAGE_FLAGX' undeclared (first use in this function)
   61 |         (1<<TRANSPARENT_HUGEPAGE_FLAGX)|
      |         ^~~~~~~~~~~~~~~~~~~~~~~~~~~~
mm/huge_memory.c:61:9: note: each undeclared identifier is reported only once for each function it appears in
make[2]: *** [scripts/Makefile.build:250: mm/huge_memory.o] Error 1
make[1]: *** [scripts/Makefile.build:500: mm] Error 2
make: *** [Makefile:2012: .] Error 2
`;

describe("kernel build commands and failures", () => {
  it("make gets -j, ccache as CC on every call, and a fixed build user/host", () => {
    expect(makeArgv(["bzImage", "modules"], { jobs: 2, ccache: true })).to.deep.equal([
      "-j2",
      "CC=ccache gcc",
      "KBUILD_BUILD_USER=balloon-bench",
      "KBUILD_BUILD_HOST=balloon-bench",
      "bzImage",
      "modules",
    ]);
    expect(makeArgv(["olddefconfig"], { jobs: 0, ccache: false })[0]).to.equal("-j1");
    expect(modulesInstallArgv("/c/out/modules", { jobs: 2, ccache: false })).to.include(
      "INSTALL_MOD_PATH=/c/out/modules",
    );
  });

  it("shows the compiler's error lines, first error first", () => {
    expect(buildErrorLines(FAILED_LOG)).to.deep.equal([
      "mm/huge_memory.c:61:9: error: 'TRANSPARENT_HUGEPAGE_FLAGX' undeclared (first use in this function)",
      "make[2]: *** [scripts/Makefile.build:250: mm/huge_memory.o] Error 1",
      "make[1]: *** [scripts/Makefile.build:500: mm] Error 2",
      "make: *** [Makefile:2012: .] Error 2",
    ]);
    const error = describeMakeFailure("build", FAILED_LOG, "/c/failed/x.log");
    expect(error).to.be.instanceOf(BalloonBenchError);
    expect(error.message).to.match(
      /^kernel build failed: mm\/huge_memory.c:61:9: error: 'TRANSPARENT_HUGEPAGE_FLAGX' undeclared/,
    );
    expect(error.hint).to.include("/c/failed/x.log");
    expect(error.logPath).to.equal("/c/failed/x.log");
  });

  it("falls back to the log's tail when no line says error", () => {
    expect(buildErrorLines("a\nb\n\nKilled\n", 2)).to.deep.equal(["b", "Killed"]);
  });

  it("names the Debian packages for missing build tools", () => {
    expect(missingDependenciesHint(["flex", "/usr/include/gelf.h"])).to.equal(
      "apt-get install flex libelf-dev",
    );
    expect(missingDependenciesHint([])).to.equal(undefined);
  });
});
