import { doctorExitCode, renderDoctor } from "../../core/doctor/doctor-checks.js";
import { runDoctor } from "../../machine/doctor.js";
import type { CliIo } from "../io.js";

/** `balloon-bench doctor`: one line per check, each warning with its fix; exit 1 when run cannot work. */
export async function doctorCommand(
  options: { qemu?: string; json?: boolean },
  io: CliIo,
): Promise<void> {
  const checks = await runDoctor({ qemu: options.qemu });
  io.stdout(
    options.json === true
      ? `${JSON.stringify({ checks }, null, 2)}\n`
      : `${renderDoctor(checks)}\n`,
  );
  io.setExitCode(doctorExitCode(checks));
}
