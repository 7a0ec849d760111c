import { randomUUID } from "node:crypto";
import { access, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { execa, type ResultPromise } from "execa";
import { liveVmsDir } from "../../src/live/live-paths.js";
import { readProcessStartTime } from "../../src/util/process-identity.js";
import { readVmState, writeVmState, type LiveVmState } from "../../src/live/vm-state.js";
import { ensurePrivateDir, makePrivateTempDir, removeDir } from "../../src/util/private-dir.js";
import { runCli } from "../helpers/cli.js";
import { eventually, isAlive, qemuPidsWithMarker, startBareQemu } from "../helpers/processes.js";

const cliEntry = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const fakeQemu = fileURLToPath(new URL("../fixtures/fake-qemu.mjs", import.meta.url));

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Runs tmux on a private server socket (never the user's tmux). */
function tmux(socket: string, args: readonly string[]) {
  return execa("tmux", ["-S", socket, "-f", "/dev/null", ...args], { reject: false });
}

describe("live VMs: up, exec, balloon, qmp, features, profile, shell, down @integration", function () {
  this.timeout(300_000);
  const name = "t1";
  let runtime: string;
  let env: Record<string, string>;
  let stateDir: string;
  let upStdout = "";
  let upMs = 0;
  let state: LiveVmState;

  before(async () => {
    runtime = await makePrivateTempDir("bb-live-test-");
    env = { XDG_RUNTIME_DIR: runtime };
    stateDir = join(liveVmsDir(env), name);
    const started = Date.now();
    // The one VM of this file. runCli returning at all shows QEMU does not hold the CLI's stdio.
    // Booted from a plan's feature config, as `run` would boot that cell.
    const plan = join(runtime, "plan.yaml");
    await writeFile(
      plan,
      "configs:\n  - { name: reporting, bits: [5] }\n  - { name: oom-reporting, bits: [deflate-on-oom, 5] }\n",
    );
    const up = await runCli(
      [
        "up",
        "--name",
        name,
        "--memory",
        "1024",
        "--accel",
        "tcg",
        "--plan",
        plan,
        "--config",
        "oom-reporting",
      ],
      env,
    );
    upMs = Date.now() - started;
    if (up.exitCode !== 0) throw new Error(`up failed (${up.exitCode}): ${up.stderr}`);
    upStdout = up.stdout;
    const recorded = await readVmState(stateDir);
    if (recorded === undefined) throw new Error("up wrote no state.json");
    state = recorded;
  });

  after(async () => {
    // Whatever the tests did, no QEMU of ours survives the file.
    await runCli(["down", name, "--quit-timeout", "5"], env);
    if (state?.qemu !== undefined && isAlive(state.qemu.pid))
      process.kill(state.qemu.pid, "SIGKILL");
    await removeDir(runtime);
  });

  it("up boots in the background, outlives the CLI and prints how to reach the VM", async () => {
    process.stderr.write(`      (up took ${(upMs / 1000).toFixed(1)} s under TCG)\n`);
    expect(upStdout).to.contain(`VM ${name} is up: QEMU pid ${state.qemu?.pid}, tcg, 1024 MiB`);
    expect(upStdout).to.contain(`balloon-bench shell ${name}`);
    expect(upStdout).to.contain(`balloon-bench down ${name}`);
    expect(upStdout).to.contain("-o StrictHostKeyChecking=yes root@127.0.0.1");
    expect(state.phase).to.equal("running");
    const qemu = state.qemu;
    if (qemu === undefined) throw new Error("no QEMU recorded");
    expect(await readProcessStartTime(qemu.pid)).to.equal(qemu.startTime);
    expect(await qemuPidsWithMarker(`bb-vm-live-${name}`)).to.deep.equal([qemu.pid]);
    // Everything the VM needs after `up` exits lives in its private state directory.
    expect((await stat(stateDir)).mode & 0o777).to.equal(0o700);
    expect(state.qmpSocket).to.equal(join(stateDir, "qmp.sock"));
    for (const file of ["qmp.sock", "qmp-events.sock", "root.qcow2", "known_hosts"])
      expect(await exists(join(stateDir, file)), file).to.equal(true);
    expect(state).to.include({ memoryMiB: 1024, accelerator: "tcg" });
    expect(state.requestedBits).to.deep.equal([2, 5]);
    expect(state.hostKey).to.match(/^ssh-ed25519 /);
    const { stdout } = await execa("ss", ["-Hltn", `sport = :${state.sshPort}`]);
    expect(stdout.trim().split(/\s+/)[3]).to.equal(`127.0.0.1:${state.sshPort}`);
  });

  it("ls lists the live VM", async () => {
    const result = await runCli(["ls"], env);
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stdout).to.match(
      new RegExp(
        `^${name} +running +${state.qemu?.pid} +127\\.0\\.0\\.1:${state.sshPort} +tcg +1024M +2,5 `,
        "m",
      ),
    );
  });

  it("refuses a second up with the same name and leaves the first alone", async () => {
    const result = await runCli(["up", "--name", name, "--memory", "1024", "--accel", "tcg"], env);
    expect(result.exitCode).to.equal(2);
    expect(result.stderr).to.contain(
      `balloon-bench: error: a VM named ${name} is already running (QEMU pid ${state.qemu?.pid}, SSH port ${state.sshPort})`,
    );
    expect((await readVmState(stateDir))?.qemu).to.deep.equal(state.qemu);
  });

  it("exec streams a command's output, passes argv unchanged and returns its exit code", async () => {
    const failing = await runCli(
      ["exec", name, "--", "sh", "-c", "echo out; echo err >&2; exit 7"],
      env,
    );
    expect(failing.exitCode).to.equal(7);
    expect(failing.stdout).to.equal("out");
    expect(failing.stderr).to.contain("err");
    const quoted = await runCli(
      ["exec", name, "--", "printf", "%s|", "a b", "it's", "$HOME", "; reboot", "--"],
      env,
    );
    expect(quoted.exitCode, quoted.stderr).to.equal(0);
    expect(quoted.stdout).to.equal("a b|it's|$HOME|; reboot|--|");
    const missing = await runCli(["exec", name, "uname"], env);
    expect(missing.exitCode).to.equal(2);
    expect(missing.stderr).to.contain("exec needs -- before the guest command");
  });

  it("balloon set moves the balloon with progress until reached; status and stats read it back", async () => {
    const set = await runCli(["balloon", name, "set", "768M"], env);
    expect(set.exitCode, set.stderr).to.equal(0);
    expect(set.stdout).to.match(/^balloon: reached 768 MiB \(from 1024 MiB\) in \d+\.\d s$/m);
    expect(set.stderr).to.contain("balloon: actual 768 MiB (target 768 MiB)");
    const status = await runCli(["balloon", name, "status"], env);
    expect(status.stdout).to.match(/^actual: 768 MiB of 1024 MiB \(balloon holds 256 MiB\)/);
    const qmp = await runCli(["qmp", name, "query-balloon"], env);
    expect(JSON.parse(qmp.stdout)).to.deep.equal({ actual: 768 * 1024 * 1024 });
    const stats = await runCli(["balloon", name, "stats"], env);
    expect(stats.exitCode, stats.stderr).to.equal(0);
    expect(stats.stdout).to.match(/^ +total-memory +\d+(\.\d)? MiB$/m);
    expect(stats.stdout).to.match(/^ +free-memory +\d+(\.\d)? MiB$/m);
    const back = await runCli(["balloon", name, "set", "1024"], env);
    expect(back.stdout).to.contain("balloon: reached 1024 MiB (from 768 MiB)");
    const tooBig = await runCli(["balloon", name, "set", "4G"], env);
    expect(tooBig.exitCode).to.equal(2);
    expect(tooBig.stderr).to.contain("is more than VM t1's 1024 MiB of memory");
  });

  it("qmp sends one raw command and pretty-prints the reply; bad input and QMP errors fail", async () => {
    const status = await runCli(["qmp", name, "query-status"], env);
    expect(status.exitCode, status.stderr).to.equal(0);
    expect(status.stdout).to.contain('\n  "status": "running"');
    expect(JSON.parse(status.stdout)).to.include({ running: true, status: "running" });
    const withArgs = await runCli(
      ["qmp", name, "qom-get", '{"path": "/machine/peripheral/balloon0", "property": "type"}'],
      env,
    );
    expect(JSON.parse(withArgs.stdout)).to.equal("virtio-balloon-pci");
    const badJson = await runCli(["qmp", name, "query-status", "{nope"], env);
    expect(badJson.exitCode).to.equal(2);
    expect(badJson.stderr).to.contain("QMP arguments are not valid JSON");
    const unknown = await runCli(["qmp", name, "no-such-command"], env);
    expect(unknown.exitCode).to.equal(1);
    expect(unknown.stderr).to.contain("CommandNotFound");
  });

  it("qmp --events follows events (on its own monitor) until Ctrl-C", async () => {
    const follower = execa("node", ["--import", "tsx", cliEntry, "qmp", name, "--events"], {
      env,
      reject: false,
      buffer: false,
      stdin: "ignore",
    });
    let out = "";
    let err = "";
    follower.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
    follower.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()));
    try {
      expect(await eventually(() => err.includes("following QMP events"), 30_000)).to.equal(true);
      // The main monitor stays usable while the follower holds the events monitor.
      const set = await runCli(["balloon", name, "set", "896"], env);
      expect(set.exitCode, set.stderr).to.equal(0);
      expect(await eventually(() => out.includes('"BALLOON_CHANGE"'), 10_000)).to.equal(true);
      const event = JSON.parse(out.split("\n")[0] ?? "") as { event: string; data: unknown };
      expect(event.event).to.equal("BALLOON_CHANGE");
      follower.kill("SIGINT");
      expect((await follower).exitCode).to.equal(130);
    } finally {
      follower.kill("SIGKILL");
      await runCli(["balloon", name, "set", "1024"], env);
    }
  });

  it("features shows requested, offered and negotiated bits", async () => {
    const text = await runCli(["features", name], env);
    expect(text.exitCode, text.stderr).to.equal(0);
    expect(text.stdout).to.contain("requested:   2, 5\n");
    expect(text.stdout).to.contain("offered:     1, 2, 5   (device, QMP x-query-virtio-status)");
    expect(text.stdout).to.contain("negotiated:  1, 2, 5   (QMP; guest sysfs: 1, 2, 5)");
    expect(text.stdout).to.match(/^5 +VIRTIO_BALLOON_F_PAGE_REPORTING +yes +yes +yes$/m);
    const json = await runCli(["features", name, "--json"], env);
    const features = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(features).to.include.keys("sysfsString");
    delete features["sysfsString"];
    expect(features).to.deep.equal({
      requested: [2, 5],
      offered: [1, 2, 5],
      negotiatedQmp: [1, 2, 5],
      negotiatedSysfs: [1, 2, 5],
    });
  });

  it("profile records alloc_once with perf, falls back to cpu-clock without a PMU, and copies perf.data back", async () => {
    const out = join(runtime, "profile");
    const result = await runCli(["profile", name, "--size", "64", "--out", out], env);
    expect(result.exitCode, result.stderr).to.equal(0);
    // TCG emulates no PMU: said plainly, and the event really recorded is checked, not assumed.
    expect(result.stderr).to.contain(
      "profile: not recording cycles: the guest has no hardware PMU",
    );
    expect(result.stdout).to.match(/^event: cpu-clock \(software fallback: cycles is unusable/m);
    expect(result.stdout).to.match(/^recorded: cpu-clock; \[ perf record: Captured and wrote/m);
    expect(result.stdout).to.match(/^ +\d+\.\d+% +alloc_once +\[kernel\.kallsyms\] +\[k\] \w+/m);
    const profile = JSON.parse(await readFile(join(out, "profile.json"), "utf8")) as {
      event: { requested: string; used: string; fallback: boolean; recorded: string[] };
      workload: { sizeMiB: number };
    };
    expect(profile.event).to.include({ requested: "cycles", used: "cpu-clock", fallback: true });
    expect(profile.event.recorded).to.deep.equal(["cpu-clock"]);
    expect(profile.workload.sizeMiB).to.equal(64);
    const perfData = await readFile(join(out, "perf.data"));
    expect(perfData.subarray(0, 8).toString()).to.equal("PERFILE2");
    expect(await readFile(join(out, "kallsyms"), "utf8")).to.match(/ T clear_page/);
    expect(await readFile(join(out, "report.txt"), "utf8")).to.contain("of event 'cpu-clock'");
    const again = await runCli(["profile", name, "--size", "64", "--out", out], env);
    expect(again.exitCode).to.equal(2);
    expect(again.stderr).to.contain("is not empty");
  });

  it("shell gives a real terminal: a typed command's output, Ctrl-C to the guest, resize, exit code", async () => {
    const socket = join(runtime, "tmux.sock");
    const session = "live";
    // The exit status is written by a sh around the CLI, not read from tmux's #{pane_dead_status}:
    // Debian's tmux (built with libutempter) sets SIGCHLD to SIG_DFL while its utmp helper runs
    // on the pane's pty EOF, and a pane process that becomes a zombie in that window is never
    // reaped, so the status never shows (tmux/tmux#311, #4559).
    const statusFile = join(runtime, "shell-status");
    const screen = async (): Promise<string> =>
      (await tmux(socket, ["capture-pane", "-p", "-t", session])).stdout;
    const created = await tmux(socket, [
      "new-session",
      "-d",
      "-s",
      session,
      "-x",
      "100",
      "-y",
      "30",
      "-e",
      `XDG_RUNTIME_DIR=${runtime}`,
      "sh",
      "-c",
      'node --import tsx "$1" shell "$2"; echo "$?" >"$3"',
      "sh",
      cliEntry,
      name,
      statusFile,
      ";",
      "set-option",
      "-t",
      session,
      "remain-on-exit",
      "on",
    ]);
    expect(created.exitCode, created.stderr).to.equal(0);
    try {
      // The guest's root prompt ("# "; capture-pane drops the trailing space).
      const prompt = await eventually(async () => /^# ?$/m.test(await screen()), 30_000);
      expect(prompt, await screen()).to.equal(true);
      await tmux(socket, ["send-keys", "-t", session, "echo hello-$((6*7)); stty size", "Enter"]);
      const hello = await eventually(async () => (await screen()).includes("hello-42\n30 100"));
      expect(hello, await screen()).to.equal(true);
      await tmux(socket, ["send-keys", "-t", session, "sleep 600", "Enter"]);
      await sleep(1000);
      await tmux(socket, ["send-keys", "-t", session, "C-c"]);
      await tmux(socket, ["send-keys", "-t", session, "echo status=$?", "Enter"]);
      expect(await eventually(async () => (await screen()).includes("status=130"))).to.equal(true);
      await tmux(socket, ["resize-window", "-t", session, "-x", "90", "-y", "25"]);
      await tmux(socket, ["send-keys", "-t", session, "stty size", "Enter"]);
      expect(await eventually(async () => (await screen()).includes("\n25 90\n"))).to.equal(true);
      await tmux(socket, ["send-keys", "-t", session, "exit 3", "Enter"]);
      const exitStatus = async (): Promise<string> =>
        (await readFile(statusFile, "utf8").catch(() => "")).trim();
      const exited = await eventually(async () => (await exitStatus()) !== "", 30_000);
      expect(exited, await screen()).to.equal(true);
      expect(await exitStatus()).to.equal("3");
    } finally {
      await tmux(socket, ["kill-server"]);
    }
  });

  it("down stops the VM with quit, leaves no QEMU and removes its state; twice is harmless", async () => {
    const pid = state.qemu?.pid ?? -1;
    const down = await runCli(["down", name], env);
    expect(down.exitCode, down.stderr).to.equal(0);
    expect(down.stdout).to.equal(`stopped VM ${name} (QEMU pid ${pid}, by quit)`);
    expect(await eventually(() => !isAlive(pid), 5_000)).to.equal(true);
    expect(await qemuPidsWithMarker(`bb-vm-live-${name}`)).to.deep.equal([]);
    expect(await exists(stateDir)).to.equal(false);
    const again = await runCli(["down", name], env);
    expect(again.exitCode).to.equal(0);
    expect(again.stdout).to.equal(`no VM named ${name}; nothing to stop`);
    const gone = await runCli(["exec", name, "--", "true"], env);
    expect(gone.exitCode).to.equal(2);
    expect(gone.stderr).to.contain(`balloon-bench: error: no VM named ${name}`);
  });
});

describe("live VMs that died or will not quit @integration", function () {
  this.timeout(60_000);
  let runtime: string;
  let env: Record<string, string>;
  const started: ResultPromise[] = [];

  before(async () => {
    runtime = await makePrivateTempDir("bb-live-test-");
    env = { XDG_RUNTIME_DIR: runtime };
  });

  after(async () => {
    for (const child of started) child.kill("SIGKILL");
    await Promise.allSettled(started);
    await removeDir(runtime);
  });

  /** Records a process as live VM `name`, the way `up` does, with its QMP socket in the state dir. */
  async function adopt(name: string, pid: number, startTime?: number): Promise<string> {
    const dir = join(liveVmsDir(env), name);
    await ensurePrivateDir(dir);
    const owner = { pid: process.pid, startTime: (await readProcessStartTime(process.pid)) ?? 0 };
    await writeVmState(dir, {
      schema: 1,
      name,
      phase: "running",
      createdAt: new Date().toISOString(),
      owner,
      qemu: { pid, startTime: startTime ?? (await readProcessStartTime(pid)) ?? -1 },
      qemuPath: "qemu-system-x86_64",
      qmpSocket: join(dir, "qmp.sock"),
      eventsQmpSocket: join(dir, "qmp-events.sock"),
      sshPort: 1,
      hostKey: "ssh-ed25519 AAAA",
      clientKeyPath: "/nonexistent",
      requestedBits: [5],
      balloonProperties: [["free-page-reporting", "on"]],
      kernel: { name: "k", release: "r", path: "/k" },
      memoryMiB: 64,
      vcpus: 1,
      accelerator: "tcg",
      consoleLog: join(dir, "console.log"),
      stderrLog: join(dir, "qemu-stderr.log"),
    });
    return dir;
  }

  it("a QEMU killed from outside is detected by the next command, which removes its state", async () => {
    const name = "killed";
    const dir = join(liveVmsDir(env), name);
    await ensurePrivateDir(dir);
    const qemu = startBareQemu(join(dir, "qmp.sock"), ["-name", `bb-vm-test-${randomUUID()}`]);
    started.push(qemu);
    const pid = qemu.pid ?? -1;
    await eventually(() => exists(join(dir, "qmp.sock")));
    await adopt(name, pid);
    const alive = await runCli(["qmp", name, "query-status"], env);
    expect(alive.exitCode, alive.stderr).to.equal(0);
    expect(JSON.parse(alive.stdout)).to.include({ status: "prelaunch" });

    process.kill(pid, "SIGKILL");
    await qemu;
    const next = await runCli(["balloon", name, "status"], env);
    expect(next.exitCode).to.equal(1);
    expect(next.stderr.trim()).to.equal(
      `balloon-bench: error: VM ${name} is not running (its QEMU exited); removed its stale state (fix: start it again with \`balloon-bench up --name ${name}\`)`,
    );
    expect(await exists(dir)).to.equal(false);
    const ls = await runCli(["ls"], env);
    expect(ls.stdout).to.equal("no live VMs");
  });

  it("a reused pid is not mistaken for the VM's QEMU (start time differs); ls cleans stale entries", async () => {
    // This test process is alive, but it is not the recorded process: its start time differs.
    const dir = await adopt("reused", process.pid, 1);
    const next = await runCli(["exec", "reused", "--", "true"], env);
    expect(next.exitCode).to.equal(1);
    expect(next.stderr).to.contain(
      "VM reused is not running (its QEMU exited); removed its stale state",
    );
    expect(await exists(dir)).to.equal(false);
    await adopt("stale", process.pid, 1);
    const ls = await runCli(["ls"], env);
    expect(ls.stderr).to.contain("removed the stale state of VM stale (its QEMU had exited)");
    expect(await exists(join(liveVmsDir(env), "stale"))).to.equal(false);
  });

  it("a damaged state file of a running QEMU is never taken for dead: commands say so, down stops it (issue 13, case 3)", async () => {
    const name = "damaged";
    const dir = join(liveVmsDir(env), name);
    await ensurePrivateDir(dir);
    const qemu = startBareQemu(join(dir, "qmp.sock"), ["-name", `bb-vm-test-${randomUUID()}`]);
    started.push(qemu);
    await eventually(() => exists(join(dir, "qmp.sock")));
    await adopt(name, qemu.pid ?? -1);
    const statePath = join(dir, "state.json");
    const state = JSON.parse(await readFile(statePath, "utf8")) as Record<string, unknown>;
    await writeFile(statePath, JSON.stringify({ ...state, memoryMiB: "lots" }));

    const status = await runCli(["balloon", name, "status"], env);
    expect(status.exitCode).to.equal(1);
    expect(status.stderr.trim()).to.equal(
      `balloon-bench: error: the state of VM ${name} is damaged (memoryMiB: Invalid input: expected number, received string), and its QEMU (pid ${qemu.pid}) still runs (fix: stop it with \`balloon-bench down ${name}\`, which needs only the pid it recorded)`,
    );
    expect(await exists(dir)).to.equal(true);
    const ls = await runCli(["ls"], env);
    expect(ls.stderr).to.contain(`VM ${name}: its state is damaged`);
    const up = await runCli(["up", "--name", name], env);
    expect(up.exitCode).to.equal(2);
    expect(up.stderr).to.contain(
      `VM ${name} exists with a damaged state, and its QEMU (pid ${qemu.pid}) runs`,
    );

    const down = await runCli(["down", name, "--quit-timeout", "5"], env);
    expect(down.exitCode, down.stderr).to.equal(0);
    expect(down.stdout).to.equal(`stopped VM ${name} (QEMU pid ${qemu.pid}, by quit)`);
    expect((await qemu).exitCode).to.equal(0);
    expect(await exists(dir)).to.equal(false);
  });

  for (const [mode, method] of [
    ["ignore-quit", "sigterm"],
    ["stubborn", "sigkill"],
  ] as const) {
    it(`down ends a QEMU that ${mode === "stubborn" ? "ignores quit and SIGTERM" : "ignores quit"} (${method})`, async () => {
      const name = `fake-${mode}`;
      const dir = join(liveVmsDir(env), name);
      await ensurePrivateDir(dir);
      const sock = join(dir, "qmp.sock");
      const fake = execa(fakeQemu, ["-chardev", `socket,id=qmp0,path=${sock},server=on,wait=off`], {
        env: { FAKE_QEMU_MODE: mode },
        reject: false,
        stdin: "ignore",
      });
      started.push(fake);
      await eventually(() => exists(sock));
      await adopt(name, fake.pid ?? -1);
      const down = await runCli(["down", name, "--quit-timeout", "1"], env);
      expect(down.exitCode, down.stderr).to.equal(0);
      expect(down.stdout).to.equal(`stopped VM ${name} (QEMU pid ${fake.pid}, by ${method})`);
      expect((await fake).signal).to.equal(method === "sigterm" ? "SIGTERM" : "SIGKILL");
      expect(await exists(dir)).to.equal(false);
    });
  }

  it("refuses a VM name that is not a plain word", async () => {
    await writeFile(
      join(runtime, "plan.yaml"),
      "configs:\n  - { name: reporting, bits: [5] }\n  - { name: oom-reporting, bits: [2, 5] }\n",
    );
    const ambiguous = await runCli(
      ["up", "--name", "x2", "--plan", join(runtime, "plan.yaml")],
      env,
    );
    expect([ambiguous.exitCode, ambiguous.stderr.trim()]).to.deep.equal([
      2,
      "balloon-bench: error: the plan has 2 configs; say which (fix: pass --config with one of: reporting, oom-reporting)",
    ]);
    const result = await runCli(["up", "--name", "../x"], env);
    expect(result.exitCode).to.equal(2);
    expect(result.stderr).to.contain("'../x' is not a usable VM name");
  });
});
