import { expect } from "chai";
import {
  activeChoice,
  describeHostDifference,
  hostSettingDifferences,
  hostSettings,
  parseCpuPressure,
  parseCpuTicks,
  parseHostState,
} from "../../../src/core/host/host-state.js";

const files = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe("host state parsers", () => {
  it("takes the bracketed choice of a selector file, or a plain word", () => {
    expect(activeChoice("always [madvise] never")).to.equal("madvise");
    expect(activeChoice("never")).to.equal("never");
    expect(activeChoice("")).to.equal(null);
  });

  it("reads steal and total ticks from the cpu line of /proc/stat", () => {
    expect(parseCpuTicks("cpu  10 1 5 100 2 0 1 7 3 0\ncpu0 1 2 3\n")).to.deep.equal({
      steal: 7,
      total: 126,
    });
    expect(parseCpuTicks("intr 1\n")).to.equal(null);
  });

  it("reads PSI's some line", () => {
    expect(
      parseCpuPressure(
        "some avg10=1.50 avg60=0.00 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
      ),
    ).to.deep.equal({ avg10: 1.5, totalUs: 1234 });
    expect(parseCpuPressure(undefined)).to.equal(null);
  });

  it("summarises mixed governors by CPU", () => {
    const state = parseHostState(
      files({
        "sys/devices/system/cpu/online": "0-3\n",
        "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor": "powersave\n",
        "sys/devices/system/cpu/cpu1/cpufreq/scaling_governor": "powersave\n",
        "sys/devices/system/cpu/cpu2/cpufreq/scaling_governor": "performance\n",
        "sys/devices/system/cpu/cpu3/cpufreq/scaling_governor": "performance\n",
      }),
    );
    expect(hostSettings(state).governor).to.equal("powersave on 0-1, performance on 2-3");
  });
});

describe("hostSettingDifferences", () => {
  const base = parseHostState(
    files({
      "sys/devices/system/cpu/online": "0-1",
      "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor": "performance",
      "sys/devices/system/cpu/cpu1/cpufreq/scaling_governor": "performance",
      "sys/devices/system/cpu/cpufreq/boost": "0",
      "sys/devices/system/cpu/smt/control": "off",
      "sys/kernel/mm/transparent_hugepage/enabled": "always [madvise] never",
      "sys/kernel/mm/transparent_hugepage/defrag": "always defer defer+madvise [madvise] never",
      "sys/kernel/mm/ksm/run": "0",
      "proc/loadavg": "0.10 0.10 0.10 1/100 1",
    }),
  );

  it("names each setting that differs, and ignores the load", () => {
    const other = {
      ...base,
      ksmRun: 1,
      thp: { ...base.thp, enabled: "always" },
      load: { ...base.load, loadAvg: [5, 5, 5] as [number, number, number] },
    };
    const differences = hostSettingDifferences(base, other);
    expect(differences).to.deep.equal([
      { setting: "thp.enabled", a: "madvise", b: "always" },
      { setting: "ksm", a: "0", b: "1" },
    ]);
    expect(differences.map(describeHostDifference)).to.deep.equal([
      "host setting thp.enabled differs: madvise vs always",
      "host setting ksm differs: 0 vs 1",
    ]);
  });

  it("says nothing when a side was not recorded (earlier versions)", () => {
    expect(hostSettingDifferences(base, undefined)).to.deep.equal([]);
    expect(hostSettingDifferences(base, base)).to.deep.equal([]);
  });

  it("treats a host without cpufreq as a different governor", () => {
    const noCpufreq = { ...base, cpufreq: null, boost: null };
    expect(hostSettingDifferences(base, noCpufreq).map((d) => d.setting)).to.deep.equal([
      "governor",
      "boost",
    ]);
  });
});
