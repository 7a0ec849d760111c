import { readFileSync } from "node:fs";

import { expect } from "chai";

import {
  PerfCsvParseError,
  parsePerfStatCsv,
  type PerfCounter,
  type PerfRun,
} from "../../../src/core/perf/perf-csv.js";

// Captured with perf 6.1 on this repo's dev VM; see test/fixtures/perf/README.md.
function fixture(name: string): string {
  return readFileSync(new URL(`../../fixtures/perf/${name}`, import.meta.url), "utf8");
}

function parseError(run: () => unknown): PerfCsvParseError {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(PerfCsvParseError);
    return error as PerfCsvParseError;
  }
  expect.fail("expected a PerfCsvParseError");
}

const NOT_SUPPORTED = { kind: "not-supported" } as const;
const NOT_COUNTED = { kind: "not-counted" } as const;

function taskClock(
  valueMsec: number,
  runTimeNs: number,
  cpusUtilized: number,
  event = "task-clock",
): PerfCounter {
  return {
    event,
    value: { kind: "counted", value: valueMsec },
    unit: "msec",
    runTimeNs,
    enabledPct: 100,
    metricValue: cpusUtilized,
    metricUnit: "CPUs utilized",
  };
}

// perf prints a run time of 0 and, because run == ena, 100.00 % for events it never ran.
function unsupported(event: string): PerfCounter {
  return { event, value: NOT_SUPPORTED, unit: "", runTimeNs: 0, enabledPct: 100 };
}

describe("parsePerfStatCsv on real perf 6.1 output", () => {
  it("parses a single run with a metric column and <not supported> counters", () => {
    expect(parsePerfStatCsv(fixture("single-run.csv"))).to.deep.equal([
      {
        index: 0,
        startedOn: "Mon Nov 23 08:33:27 2026",
        counters: [
          taskClock(53.13, 53125756, 1.051),
          unsupported("instructions"),
          unsupported("cache-misses"),
        ],
      },
    ] satisfies PerfRun[]);
  });

  it("splits --append output into one run per '# started on' header", () => {
    expect(parsePerfStatCsv(fixture("append-3-runs.csv"))).to.deep.equal([
      {
        index: 0,
        startedOn: "Mon Nov 23 08:33:27 2026",
        counters: [
          taskClock(52.99, 52989222, 0.98),
          unsupported("instructions"),
          unsupported("cache-misses"),
        ],
      },
      {
        index: 1,
        startedOn: "Mon Nov 23 08:33:27 2026",
        counters: [
          taskClock(51.55, 51550629, 0.975),
          unsupported("instructions"),
          unsupported("cache-misses"),
        ],
      },
      {
        index: 2,
        startedOn: "Mon Nov 23 08:33:27 2026",
        counters: [
          taskClock(52.46, 52458523, 1.055),
          unsupported("instructions"),
          unsupported("cache-misses"),
        ],
      },
    ] satisfies PerfRun[]);
  });

  it("reads the -r variance column that sits between event name and run time", () => {
    expect(parsePerfStatCsv(fixture("repeat-3.csv"))).to.deep.equal([
      {
        index: 0,
        startedOn: "Mon Nov 23 08:33:27 2026",
        counters: [
          { ...taskClock(52.22, 52217921, 0.976), variancepct: 1.45 },
          { ...unsupported("instructions"), variancepct: 0 },
          { ...unsupported("cache-misses"), variancepct: 0 },
        ],
      },
    ] satisfies PerfRun[]);
  });

  it("parses the default event set with /sec metrics", () => {
    const perSec = (event: string, count: number, metricValue: number): PerfCounter => ({
      event,
      value: { kind: "counted", value: count },
      unit: "",
      runTimeNs: 52654964,
      enabledPct: 100,
      metricValue,
      metricUnit: "/sec",
    });
    expect(parsePerfStatCsv(fixture("default-events.csv"))).to.deep.equal([
      {
        index: 0,
        startedOn: "Mon Nov 23 08:33:27 2026",
        counters: [
          taskClock(52.65, 52654964, 0.83),
          perSec("context-switches", 37, 702.688),
          perSec("cpu-migrations", 0, 0),
          perSec("page-faults", 26, 493.781),
          unsupported("cycles"),
          unsupported("instructions"),
          unsupported("branches"),
          unsupported("branch-misses"),
        ],
      },
    ] satisfies PerfRun[]);
  });

  it("parses metric columns of task-clock and page-faults", () => {
    expect(parsePerfStatCsv(fixture("metrics-task-clock-page-faults.csv"))).to.deep.equal([
      {
        index: 0,
        startedOn: "Mon Nov 23 08:33:28 2026",
        counters: [
          taskClock(43.71, 43708070, 0.977),
          {
            event: "page-faults",
            value: { kind: "counted", value: 26 },
            unit: "",
            runTimeNs: 43708070,
            enabledPct: 100,
            metricValue: 594.856,
            metricUnit: "/sec",
          },
        ],
      },
    ] satisfies PerfRun[]);
  });

  it("keeps event modifiers in the event name", () => {
    expect(parsePerfStatCsv(fixture("modifiers.csv"))).to.deep.equal([
      {
        index: 0,
        startedOn: "Mon Nov 23 08:33:28 2026",
        counters: [
          unsupported("instructions:u"),
          taskClock(46.64, 46638170, 0.95, "task-clock:k"),
          {
            event: "page-faults:u",
            value: { kind: "counted", value: 22 },
            unit: "",
            runTimeNs: 46638170,
            enabledPct: 100,
            metricValue: 471.717,
            metricUnit: "/sec",
          },
        ],
      },
    ] satisfies PerfRun[]);
  });

  it("parses <not counted> when the -D delay outlives the workload", () => {
    expect(parsePerfStatCsv(fixture("not-counted-delay.csv"))).to.deep.equal([
      {
        index: 0,
        startedOn: "Mon Nov 23 08:33:28 2026",
        counters: [
          { event: "task-clock", value: NOT_COUNTED, unit: "msec", runTimeNs: 0, enabledPct: 100 },
          { event: "page-faults", value: NOT_COUNTED, unit: "", runTimeNs: 0, enabledPct: 100 },
        ],
      },
    ] satisfies PerfRun[]);
  });

  it("parses tool events: ns unit, G/sec metric, <not counted> user_time", () => {
    expect(parsePerfStatCsv(fixture("tool-events.csv"))).to.deep.equal([
      {
        index: 0,
        startedOn: "Mon Nov 23 08:33:28 2026",
        counters: [
          {
            event: "duration_time",
            value: { kind: "counted", value: 47285016 },
            unit: "ns",
            runTimeNs: 47285016,
            enabledPct: 100,
            metricValue: 1.021,
            metricUnit: "G/sec",
          },
          { event: "user_time", value: NOT_COUNTED, unit: "ns", runTimeNs: 0, enabledPct: 100 },
          {
            event: "system_time",
            value: { kind: "counted", value: 46883000 },
            unit: "ns",
            runTimeNs: 46883000,
            enabledPct: 100,
            metricValue: 1.012,
            metricUnit: "G/sec",
          },
          taskClock(46.32, 46319545, 0.98),
        ],
      },
    ] satisfies PerfRun[]);
  });

  describe("separator", () => {
    const semicolonRuns: PerfRun[] = [
      {
        index: 0,
        startedOn: "Mon Nov 23 08:33:28 2026",
        counters: [taskClock(47.83, 47834466, 0.98), unsupported("instructions")],
      },
    ];

    it("detects -x';' output", () => {
      expect(parsePerfStatCsv(fixture("semicolon.csv"))).to.deep.equal(semicolonRuns);
    });

    it("honours an explicit separator", () => {
      expect(parsePerfStatCsv(fixture("semicolon.csv"), { separator: ";" })).to.deep.equal(
        semicolonRuns,
      );
    });

    it("rejects -x';' output when told the separator is a comma", () => {
      const error = parseError(() =>
        parsePerfStatCsv(fixture("semicolon.csv"), { separator: "," }),
      );
      expect(error.line).to.equal(3);
      expect(error.text).to.equal("47.83;msec;task-clock;47834466;100.00;0.980;CPUs utilized");
    });

    it("rejects an empty separator", () => {
      expect(() => parsePerfStatCsv("", { separator: "" })).to.throw(RangeError);
    });
  });

  it("rejoins a PMU-term event name that contains the comma separator", () => {
    expect(parsePerfStatCsv(fixture("pmu-terms-comma-repeat-3.csv"))).to.deep.equal([
      {
        index: 0,
        startedOn: "Mon Nov 23 08:33:28 2026",
        counters: [
          {
            event: "software/config=1,config1=0/",
            value: { kind: "counted", value: 49322215 },
            unit: "",
            variancepct: 2.02,
            runTimeNs: 49322215,
            enabledPct: 100,
            metricValue: 0.992,
            metricUnit: "CPUs utilized",
          },
          { ...taskClock(49.32, 49322215, 0.992), variancepct: 2.02 },
        ],
      },
    ] satisfies PerfRun[]);
  });

  it("keeps a run whose header is followed by no counters (perf failed to open a group)", () => {
    expect(parsePerfStatCsv(fixture("group-unsupported.csv"))).to.deep.equal([
      { index: 0, startedOn: "Mon Nov 23 08:33:28 2026", counters: [] },
    ] satisfies PerfRun[]);
  });

  it("rejects -I interval output instead of misreading its timestamp column", () => {
    const error = parseError(() => parsePerfStatCsv(fixture("interval-20ms.csv")));
    expect(error.line).to.equal(3);
    expect(error.text).to.equal(
      "     0.020124396,23.17,msec,task-clock,23172000,100.00,1.159,CPUs utilized",
    );
  });
});

describe("parsePerfStatCsv on edited perf lines", () => {
  // Lines from single-run.csv; each malformed case breaks one thing in them.
  const HEADER = "# started on Mon Nov 23 08:33:27 2026";
  const TASK_CLOCK = "53.13,msec,task-clock,53125756,100.00,1.051,CPUs utilized";
  const INSTRUCTIONS = "<not supported>,,instructions,0,100.00,,";

  function withBadThirdDataLine(bad: string): string {
    return [HEADER, "", TASK_CLOCK, INSTRUCTIONS, bad, ""].join("\n");
  }

  const malformed: { name: string; line: string; reason: RegExp }[] = [
    {
      name: "a row truncated before the metric unit",
      line: "53.13,msec,task-clock,53125756,100.00,1.051",
      reason: /6 fields/,
    },
    {
      name: "a row truncated after the event name",
      line: "53.13,msec,task-clock",
      reason: /3 fields/,
    },
    {
      name: "a non-numeric counter value",
      line: "53.1x,msec,task-clock,53125756,100.00,1.051,CPUs utilized",
      reason: /counter value "53\.1x"/,
    },
    {
      name: "a misspelt placeholder",
      line: "<not supportd>,,instructions,0,100.00,,",
      reason: /counter value/,
    },
    {
      name: "a non-numeric run time",
      line: "53.13,msec,task-clock,5312575x,100.00,1.051,CPUs utilized",
      reason: /run time/,
    },
    {
      name: "a non-numeric enabled percentage",
      line: "53.13,msec,task-clock,53125756,all,1.051,CPUs utilized",
      reason: /enabled percentage/,
    },
    {
      name: "a non-numeric metric value",
      line: "53.13,msec,task-clock,53125756,100.00,one,CPUs utilized",
      reason: /metric value/,
    },
    {
      name: "an empty event name",
      line: "53.13,msec,,53125756,100.00,1.051,CPUs utilized",
      reason: /empty event name/,
    },
    {
      name: "an extra field that is not part of a PMU-term event",
      line: "53.13,msec,task-clock,extra,53125756,100.00,1.051,CPUs utilized",
      reason: /8 fields/,
    },
    {
      // Other perf versions print the -I timestamp without padding; the shifted columns
      // then put the count where the unit belongs.
      name: "an unpadded -I timestamp column",
      line: "0.020124396,23.17,msec,task-clock,23172000,100.00,1.159,CPUs utilized",
      reason: /unit "23\.17"/,
    },
  ];

  for (const { name, line, reason } of malformed) {
    it(`throws PerfCsvParseError with the line number for ${name}`, () => {
      const error = parseError(() => parsePerfStatCsv(withBadThirdDataLine(line)));
      expect(error.line).to.equal(5);
      expect(error.text).to.equal(line);
      expect(error.name).to.equal("PerfCsvParseError");
      expect(error.message).to.include("line 5").and.match(reason);
    });
  }

  it("counts lines from 1 in CRLF text too", () => {
    const text = [HEADER, "", TASK_CLOCK, "53.13,msec,task-clock"].join("\r\n");
    expect(parseError(() => parsePerfStatCsv(text)).line).to.equal(4);
  });

  it("parses CRLF text like LF text", () => {
    const lf = fixture("single-run.csv");
    expect(parsePerfStatCsv(lf.replaceAll("\n", "\r\n"))).to.deep.equal(parsePerfStatCsv(lf));
  });

  it("returns no runs for empty text", () => {
    expect(parsePerfStatCsv("")).to.deep.equal([]);
  });

  it("starts implicit runs for headerless output (perf -x without -o writes to stderr)", () => {
    const text = [TASK_CLOCK, INSTRUCTIONS, "", TASK_CLOCK, ""].join("\n");
    expect(parsePerfStatCsv(text)).to.deep.equal([
      { index: 0, counters: [taskClock(53.13, 53125756, 1.051), unsupported("instructions")] },
      { index: 1, counters: [taskClock(53.13, 53125756, 1.051)] },
    ] satisfies PerfRun[]);
  });

  // Not capturable here (no PMU in this VM): with hardware counters perf prints further
  // metrics of a counter on lines whose counter fields are empty (new_line_csv in
  // tools/perf/util/stat-display.c). Perf versions differ in how many empty fields lead.
  it("attaches metric continuation lines to the counter above them", () => {
    const text = [
      HEADER,
      "",
      "1234567,,instructions,1000000,100.00,0.50,insn per cycle",
      ",,,,0.75,stalled cycles per insn",
      ",,,,,,frontend cycles idle",
      INSTRUCTIONS,
    ].join("\n");
    expect(parsePerfStatCsv(text)).to.deep.equal([
      {
        index: 0,
        startedOn: "Mon Nov 23 08:33:27 2026",
        counters: [
          {
            event: "instructions",
            value: { kind: "counted", value: 1234567 },
            unit: "",
            runTimeNs: 1000000,
            enabledPct: 100,
            metricValue: 0.5,
            metricUnit: "insn per cycle",
            extraMetrics: [
              { value: 0.75, unit: "stalled cycles per insn" },
              { unit: "frontend cycles idle" },
            ],
          },
          unsupported("instructions"),
        ],
      },
    ] satisfies PerfRun[]);
  });

  it("rejects a metric continuation line with no counter before it", () => {
    const text = [HEADER, "", ",,,,0.75,stalled cycles per insn"].join("\n");
    const error = parseError(() => parsePerfStatCsv(text));
    expect(error.line).to.equal(3);
    expect(error.message).to.match(/before any counter/);
  });
});

describe("perf stat CSV of older perf versions", () => {
  it("reads counter lines of 5 fields (no metric columns), as older perf wrote them", () => {
    const runs = parsePerfStatCsv(fixture("legacy-5-fields.csv"));
    expect(runs).to.have.length(1);
    expect(runs[0]?.counters.map((c) => [c.event, c.value, c.unit, c.runTimeNs])).to.deep.equal([
      ["task-clock", { kind: "counted", value: 1234.56 }, "msec", 1234560000],
      ["instructions", { kind: "counted", value: 4567890 }, "", 1234560000],
      ["cache-misses", { kind: "not-supported" }, "", 0],
    ]);
  });

  it("quotes at most 60 characters of a refused line", () => {
    const line = `x${"A".repeat(20_000)}`;
    expect(() => parsePerfStatCsv(line)).to.throw(/^perf stat CSV line 1: .*: "xA{59}"\.\.\.$/);
  });
});
