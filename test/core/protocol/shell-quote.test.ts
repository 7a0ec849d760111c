import { expect } from "chai";
import { execa } from "execa";
import { shellCommand, shellQuote } from "../../../src/core/protocol/shell-quote.js";

describe("shell quoting for the guest shell", () => {
  const nasty = [
    "plain",
    "with space",
    "it's",
    "'",
    "''",
    "$(touch /tmp/pwned)",
    "`id`",
    "a;b|c&d",
    "$HOME",
    "*",
    "new\nline",
    "tab\there",
    "back\\slash",
    '"double"',
    "",
    "-n",
    "ünïcödé",
  ];

  it("round-trips every argument through a real sh -c unchanged", async () => {
    const command = shellCommand(["printf", "%s\\0", ...nasty]);
    const { stdout } = await execa("sh", ["-c", command], { stripFinalNewline: false });
    expect(stdout.split("\0").slice(0, -1)).to.deep.equal(nasty);
  });

  it("leaves safe words bare and quotes the rest", () => {
    expect(shellQuote("/tmp/bb/alloc_once")).to.equal("/tmp/bb/alloc_once");
    expect(shellQuote("it's")).to.equal(`'it'\\''s'`);
    expect(shellQuote("")).to.equal("''");
  });

  it("refuses NUL bytes and empty commands", () => {
    expect(() => shellQuote("a\0b")).to.throw(TypeError);
    expect(() => shellCommand([])).to.throw(TypeError);
  });
});
