import { readFileSync } from "node:fs";
import type { AcceleratorChoice } from "../../src/core/qemu/accelerator.js";
import type { BootRequest, GuestSession } from "../../src/experiment/guest-session.js";
import type { MachinePort } from "../../src/experiment/machine-port.js";
import type { ExecResult } from "../../src/machine/guest/guest-ssh.js";
import type { MachineKernel, PreparedMachine } from "../../src/machine/prepare-machine.js";

const fixture = (path: string): string =>
  readFileSync(new URL(`../fixtures/${path}`, import.meta.url), "utf8");

/** What the fake guest answers, recorded from real Debian guests and QEMU 7.2. */
const FACTS = fixture("guest/facts-amd64.txt");
const VIRTIO_STATUS = JSON.parse(
  fixture("guest/x-query-virtio-status-amd64-running.json"),
) as unknown;
const DEVICE_PROPERTIES = [
  "deflate-on-oom",
  "free-page-hint",
  "free-page-reporting",
  "page-poison",
  "guest-stats",
  "guest-stats-polling-interval",
  "iothread",
];

function perfRun(taskClockMs: number): string {
  return `# started on Mon Dec  1 10:00:00 2026\n\n${taskClockMs.toFixed(2)},msec,task-clock,${Math.round(taskClockMs * 1e6)},100.00,0.985,CPUs utilized\n`;
}

const ok = (stdout = "", stderr = ""): ExecResult => ({
  exitCode: 0,
  signal: undefined,
  stdout,
  stderr,
});

export interface FakeScript {
  /** Throw from boot number N (1-based, counting every boot the port makes). */
  readonly failBoot?: number;
  /** Throw from the Nth iteration overall (1-based), as an SSH loss would. */
  readonly failIteration?: number;
  /** Called before each iteration (1-based count); may abort a controller, as SIGINT does. */
  readonly onIteration?: (n: number) => void;
}

/** A machine port and guest sessions without QEMU: enough for the engine's own logic. */
export class FakeMachine implements MachinePort {
  boots = 0;
  iterations = 0;
  readonly booted: string[] = [];

  constructor(private readonly script: FakeScript = {}) {}

  inspectQemu: MachinePort["inspectQemu"] = () =>
    Promise.resolve({
      path: "/fake/qemu-system-x86_64",
      info: {
        path: "/fake/qemu-system-x86_64",
        version: "7.2.0",
        versionLine: "QEMU emulator version 7.2.0",
      },
      deviceProperties: new Set(DEVICE_PROPERTIES),
    });

  checkKernelImages: MachinePort["checkKernelImages"] = () => Promise.resolve();

  prepareMachine: MachinePort["prepareMachine"] = (request) => {
    const accelerator: AcceleratorChoice = {
      accelerator: "tcg",
      requested: request.accel,
      reason: "fake",
      warnings: [],
      cpu: "max",
    };
    const kernels = new Map<string, MachineKernel>(
      request.kernels.map((k) => [
        k.name,
        {
          name: k.name,
          kernelPath: k.kernelPath,
          bootKernelPath: k.kernelPath,
          bootMethod: "pvh",
          sha256: `sha-${k.name}`,
          release: "6.1.0-57-amd64",
          versionString: "6.1.0-57-amd64",
          cmdline: k.cmdline,
          initrdPath: undefined,
          initramfsModules: [],
          modulesImagePath: undefined,
          balloonIsModule: true,
          hugetlbOk: true,
        },
      ]),
    );
    const machine: PreparedMachine = {
      qemu: request.qemu,
      accelerator,
      kernels,
      image: {
        dir: "/fake/image",
        hash: "image-hash",
        basePath: "/fake/image/base.img",
        clientKeyPath: "/fake/key",
        hostKey: { type: "ssh-ed25519", blob: Buffer.alloc(0) },
        hostKeyLine: "ssh-ed25519 AAAA",
      },
    };
    return Promise.resolve(machine);
  };

  workload: MachinePort["workload"] = () =>
    Promise.resolve({
      bytes: Buffer.from("alloc_once"),
      sha256: "alloc-sha",
      sourceSha256: "src-sha",
    });

  userFile: MachinePort["userFile"] = () =>
    Promise.resolve({ bytes: Buffer.from("ko"), sha256: "ko-sha" });

  host: MachinePort["host"] = () => ({
    kernel: "6.1.0-test",
    cpuModel: "Fake CPU",
    hostname: "fake",
  });

  boot: MachinePort["boot"] = (_machine, _shape, request) => {
    this.boots += 1;
    this.booted.push(request.logDir.split("/").at(-1) ?? "");
    if (this.boots === this.script.failBoot) {
      return Promise.reject(new Error(`guest did not answer SSH (fake boot ${this.boots})`));
    }
    return Promise.resolve(this.session(request));
  };

  private session(_request: BootRequest): GuestSession {
    const csv = new Map<string, string>();
    const exec = (argv: readonly string[]): Promise<ExecResult> => {
      if (argv[0] === "rm") {
        csv.delete(argv[2] ?? "");
        return Promise.resolve(ok());
      }
      if (argv[3] === "bb-prepare") return Promise.resolve(ok("", "bb-prepare 1.00 1.30\n"));
      if (argv[3] !== "bb-iteration") return Promise.resolve(ok());
      this.iterations += 1;
      this.script.onIteration?.(this.iterations);
      if (this.iterations === this.script.failIteration) {
        return Promise.reject(new Error("SSH connection lost while running: sh -c ..."));
      }
      const path = argv[4] ?? "";
      const text = (csv.get(path) ?? "") + perfRun(1000 + this.iterations);
      csv.set(path, text);
      return Promise.resolve(
        ok(text, "bb-vmstat-0 pgfault 10\nbb-vmstat-1 pgfault 74\nbb-perf 1.30 2.50\n"),
      );
    };
    return {
      bootToSshMs: 4000,
      exec,
      shell: () => Promise.resolve(ok(FACTS)),
      upload: () => Promise.resolve(),
      qmp: {
        execute: <T>(command: string): Promise<T> =>
          Promise.resolve(
            (command === "x-query-virtio-status"
              ? VIRTIO_STATUS
              : command === "query-balloon"
                ? { actual: 2048 * 1024 * 1024 }
                : {}) as T,
          ),
        onEvent: () => () => undefined,
      },
      hostRssBytes: () => Promise.resolve(700 * 1024 * 1024),
      qemuTrouble: () => Promise.resolve(undefined),
      stop: () => Promise.resolve({ method: "quit" }),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    };
  }
}
