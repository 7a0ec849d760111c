import { Command, Option } from "commander";
import { parsePropertyMapOverrides } from "../balloon/property-map.js";
import { doctorExitCode, renderDoctor } from "../doctor/doctor-checks.js";
import { renderProbeTable } from "../probe/probe-report.js";
import { TOOL_VERSION } from "../version.js";

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Sets the exit code the process ends with (commands that report rather than throw). */
  readonly setExitCode: (code: number) => void;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The command table; each action imports its command lazily so `--help` stays fast. */
export function buildProgram(io: CliIo): Command {
  const program = new Command("balloon-bench")
    .description("Benchmark what virtio-balloon feature bits (6, 7) do to guest memory performance")
    .version(TOOL_VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    // Set before the subcommands are added so they inherit it: main() maps parse errors to exit 2.
    .exitOverride();

  program
    .command("probe")
    .description("show which virtio-balloon feature bits this QEMU can offer")
    .option("--qemu <path>", "QEMU binary (default: qemu-system-x86_64 on PATH)")
    .option("--json", "print the stable JSON report instead of a table")
    .addOption(
      new Option(
        "--map <bit=property>",
        "map a feature bit to a virtio-balloon-pci property (repeatable)",
      )
        .argParser(collect)
        .default([] as string[], "bits 2-7 to deflate-on-oom ... device-init-on-inflate"),
    )
    .action(async (options: { qemu?: string; json?: boolean; map: string[] }) => {
      const propertyMap = parsePropertyMapOverrides(options.map);
      const { probeQemu } = await import("../probe/probe.js");
      const report = await probeQemu({ qemu: options.qemu, propertyMap });
      io.stdout(
        options.json === true
          ? `${JSON.stringify(report, null, 2)}\n`
          : `${renderProbeTable(report)}\n`,
      );
    });

  program
    .command("doctor")
    .description("check QEMU, accelerators, image-building tools, disk space and the cache")
    .option("--qemu <path>", "QEMU binary (default: qemu-system-x86_64 on PATH)")
    .option("--json", "print the checks as JSON")
    .action(async (options: { qemu?: string; json?: boolean }) => {
      const { runDoctor } = await import("../doctor/doctor.js");
      const checks = await runDoctor({ qemu: options.qemu });
      io.stdout(
        options.json === true
          ? `${JSON.stringify({ checks }, null, 2)}\n`
          : `${renderDoctor(checks)}\n`,
      );
      io.setExitCode(doctorExitCode(checks));
    });

  return program;
}
