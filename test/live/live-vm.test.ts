import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { splitAtDoubleDash } from "../../src/cli/commands/exec.js";
import { exitCodeOf } from "../../src/cli/exit-codes.js";
import { UsageError } from "../../src/core/errors.js";
import { reportTopEntries } from "../../src/live/guest-profile.js";
import { liveVmsDir, parseVmName } from "../../src/live/live-paths.js";
import { parseProcStat } from "../../src/util/process-identity.js";

describe("live VM helpers", () => {
  it("reads state and start time (field 22) from /proc/PID/stat, even with ') ' in comm", () => {
    // A real line (qemu-system-x86_64, pid 29317), comm replaced by a hostile one.
    const line =
      "29317 (a) b (c) S 1 29316 29316 0 -1 4194560 81254 0 3 0 2890 361 0 0 20 0 5 0 1070871 1812459520 110326 18446744073709551615 1 1 0 0 0 0 268444672 4096 17987 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0";
    expect(parseProcStat(line)).to.deep.equal({ state: "S", startTime: 1070871 });
    expect(parseProcStat("garbage")).to.equal(undefined);
  });

  it("puts state under $XDG_RUNTIME_DIR, else a per-user directory in /tmp", () => {
    expect(liveVmsDir({ XDG_RUNTIME_DIR: "/run/user/1000" })).to.equal(
      "/run/user/1000/balloon-bench/vms",
    );
    expect(liveVmsDir({})).to.equal(
      join(tmpdir(), `balloon-bench-${process.getuid?.() ?? 0}`, "vms"),
    );
  });

  it("accepts plain VM names only", () => {
    expect(parseVmName("vm-1.a_b")).to.equal("vm-1.a_b");
    for (const bad of ["", "../x", "a/b", ".hidden", "a b", "set", "x".repeat(33)])
      expect(() => parseVmName(bad), bad).to.throw(UsageError);
  });

  it("splits exec's operands at the -- commander removed", () => {
    const raw = (...args: string[]) => ["node", "bb", "exec", ...args];
    expect(splitAtDoubleDash(["uname", "-r"], raw("--", "uname", "-r"))).to.deep.equal({
      name: "default",
      argv: ["uname", "-r"],
    });
    expect(
      splitAtDoubleDash(["vm1", "ls", "--", "x"], raw("vm1", "--", "ls", "--", "x")),
    ).to.deep.equal({ name: "vm1", argv: ["ls", "--", "x"] });
    expect(() => splitAtDoubleDash(["vm1", "ls"], raw("vm1", "ls"))).to.throw(UsageError);
    expect(() => splitAtDoubleDash(["vm1"], raw("vm1", "--"))).to.throw(UsageError);
    expect(() => splitAtDoubleDash(["a", "b", "ls"], raw("a", "b", "--", "ls"))).to.throw(
      UsageError,
    );
  });

  it("maps a guest command's end to the shell's exit code convention", () => {
    expect(exitCodeOf({ exitCode: 7, signal: undefined })).to.equal(7);
    expect(exitCodeOf({ exitCode: null, signal: "TERM" })).to.equal(143);
    expect(exitCodeOf({ exitCode: null, signal: undefined })).to.equal(1);
  });

  it("takes perf report's entries, not its comments", () => {
    const report =
      "# Samples: 2K\n#\n    91.03%  alloc_once  [kernel.kallsyms]  [k] clear_page_erms\n\n     0.60%  x\n";
    expect(reportTopEntries(report, 1)).to.deep.equal([
      "    91.03%  alloc_once  [kernel.kallsyms]  [k] clear_page_erms",
    ]);
  });
});
