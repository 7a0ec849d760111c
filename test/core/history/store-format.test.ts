import { expect } from "chai";
import { UsageError } from "../../../src/core/errors.js";
import { recordsFromRun } from "../../../src/core/history/history-record.js";
import {
  parseStore,
  serializeHeader,
  serializeRecord,
} from "../../../src/core/history/store-format.js";
import { cell, run } from "./fixtures.js";

const records = [0, 1, 2].flatMap((n) => recordsFromRun(run(n, [cell(1000 + n)])).records);
const text = serializeHeader() + records.map(serializeRecord).join("");

function parse(content: string | Buffer) {
  return parseStore(Buffer.isBuffer(content) ? content : Buffer.from(content), "h.jsonl");
}

describe("history store format", () => {
  it("round-trips records as one JSON line each after a header", () => {
    const lines = text.split("\n");
    expect(lines[0]).to.equal('{"format":"balloon-bench-history","schema":1}');
    expect(lines).to.have.length(records.length + 2);
    const parsed = parse(text);
    expect(parsed.records).to.deep.equal(records);
    expect(parsed.torn).to.equal(undefined);
    expect(parsed.validBytes).to.equal(Buffer.byteLength(text));
    expect(serializeRecord(records[0]!)).to.equal(serializeRecord(structuredClone(records[0]!)));
  });

  it("ignores a torn last line (and NUL bytes a crash left) and says where it starts", () => {
    const torn = text + serializeRecord(records[0]!).slice(0, 40);
    const parsed = parse(torn);
    expect(parsed.records).to.deep.equal(records);
    expect(parsed.torn).to.deep.equal({ line: records.length + 2, bytes: 40 });
    expect(parsed.validBytes).to.equal(Buffer.byteLength(text));
    const zeros = Buffer.concat([Buffer.from(text), Buffer.alloc(4096)]);
    expect(parse(zeros).records).to.deep.equal(records);
    expect(parse(zeros).torn).to.deep.equal({ line: records.length + 2, bytes: 4096 });
  });

  it("reads an empty file as an empty store without a header", () => {
    const parsed = parse("");
    expect(parsed.records).to.deep.equal([]);
    expect(parsed.hasHeader).to.equal(false);
  });

  it("refuses a corrupted line in the middle with its number and a fix", () => {
    const lines = text.split("\n");
    lines[2] = lines[2]!.slice(0, 30);
    expect(() => parse(lines.join("\n")))
      .to.throw(UsageError, /^history store h\.jsonl is corrupted at line 3: not JSON/)
      .with.property("hint")
      .that.matches(/restore h\.jsonl from its git branch or CI cache, or delete line 3/);
    const wrong = text.replace('"nBoots":3', '"nBoots":"three"');
    expect(() => parse(wrong)).to.throw(UsageError, /corrupted at line 2: nBoots/);
  });

  it("refuses a store or a record written by a newer schema", () => {
    const newer = text.replace('"schema":1}', '"schema":2}');
    expect(() => parse(newer))
      .to.throw(UsageError, /written by a newer balloon-bench \(schema 2; this one reads 1\)/)
      .with.property("hint")
      .that.matches(/upgrade balloon-bench/);
    const newerRecord = text.replace('{"schema":1,"id"', '{"schema":3,"id"');
    expect(() => parse(newerRecord)).to.throw(UsageError, /schema 3/);
  });

  it("refuses a file that is not a store", () => {
    expect(() => parse("name,value\nx,1\n")).to.throw(
      UsageError,
      /is not a balloon-bench history store/,
    );
  });

  it("keeps the first of two lines with the same id", () => {
    const twice = text + serializeRecord(records[0]!);
    const parsed = parse(twice);
    expect(parsed.records).to.have.length(records.length);
    expect(parsed.duplicates).to.equal(1);
  });
});
