import { expect } from "chai";
import { formatError } from "../../src/cli/exit-codes.js";
import { BalloonBenchError } from "../../src/core/errors.js";
import { describeIoError, fixableIoError } from "../../src/util/io-errors.js";

function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });
}

describe("I/O errors a user can fix are one line with the path and the fix", () => {
  it("a full disk names the file and says results already written are kept", () => {
    const error = errno("ENOSPC", "write", "/r/cells/a/samples.jsonl");
    expect(formatError(error)).to.equal(
      "balloon-bench: error: no space left on the device (write /r/cells/a/samples.jsonl) (fix: free space on that filesystem, or use another directory; results already written are kept)",
    );
  });

  it("is found in a cause chain (an error wrapped by a boot)", () => {
    const inner = errno("EROFS", "open", "/r/manifest.json");
    const outer = new BalloonBenchError("boot failed", { cause: inner });
    expect(fixableIoError(new Error("x", { cause: outer }))).to.equal(inner);
    expect(describeIoError(inner)).to.deep.equal({
      message: "read-only filesystem (open /r/manifest.json)",
      hint: "use a directory on a writable filesystem",
    });
  });

  it("leaves bugs as internal errors", () => {
    expect(fixableIoError(errno("EBADF", "read", "/x"))).to.equal(undefined);
    expect(formatError(new TypeError("x is undefined"))).to.match(
      /^balloon-bench: internal error: x is undefined/,
    );
  });
});
