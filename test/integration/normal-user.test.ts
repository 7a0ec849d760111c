import { access, constants, cp, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { execa } from "execa";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const isRoot = process.getuid?.() === 0;

/**
 * The README's main command and `doctor` as a normal user (issue 13, case 16). As root (CI), the
 * users scripts/ci-users.sh makes run them: bb-user cannot open /dev/kvm, bb-kvm-user can. As a
 * normal user, the tests run as you, and expect what your /dev/kvm access says.
 */
let work = "";

async function asUser(
  user: "bb-user" | "bb-kvm-user",
  cwd: string,
  argv: readonly string[],
  env: Record<string, string>,
) {
  const prefix = isRoot ? ["runuser", "-u", user, "--"] : [];
  // The suite's TMPDIR and runtime directory are private to us: each user gets their own.
  const own = join(work, `tmp-${user}`);
  const tmp = { TMPDIR: own, XDG_RUNTIME_DIR: own };
  const envArgs = Object.entries({ ...tmp, ...env }).map(([k, v]) => `${k}=${v}`);
  const [command, ...args] = [...prefix, "env", ...envArgs, ...argv];
  return execa(command ?? "env", args, { cwd, reject: false, stdin: "ignore", all: true });
}

async function canOpenKvm(user: "bb-user" | "bb-kvm-user"): Promise<boolean> {
  if (!isRoot) {
    return access("/dev/kvm", constants.R_OK | constants.W_OK).then(
      () => true,
      () => false,
    );
  }
  return (
    (await asUser(user, "/", ["test", "-r", "/dev/kvm", "-a", "-w", "/dev/kvm"], {})).exitCode === 0
  );
}

describe("as a normal user: the README's main command and doctor @integration", function () {
  this.timeout(900_000);
  let checkout: string;

  before(async function () {
    if (isRoot) {
      const missing = await execa("id", ["bb-user"], { reject: false });
      if (missing.exitCode !== 0)
        throw new Error("user bb-user is missing: run `sudo bash scripts/ci-users.sh` first");
    }
    // Not under the suite's TMPDIR: that is private (0700) to us, and the user must reach it.
    work = await mkdtemp(join("/tmp", "bb-normal-"));
    // A checkout the user owns (the suite's may sit under /root): the built tool and its modules.
    checkout = join(work, "balloon-bench");
    await cp(repo, checkout, {
      recursive: true,
      filter: (source) => !/\/(\.git|results|coverage)$/.test(source),
    });
    for (const user of ["bb-user", "bb-kvm-user"]) {
      await mkdir(join(work, `tmp-${user}`), { mode: 0o700 });
      await mkdir(join(work, `home-${user}`), { mode: 0o700 });
    }
    if (isRoot) {
      await execa("chown", ["-R", "bb-user:bb-user", work]);
      for (const dir of ["tmp-bb-kvm-user", "home-bb-kvm-user"])
        await execa("chown", ["-R", "bb-kvm-user:bb-kvm-user", join(work, dir)]);
    }
    await execa("chmod", ["0755", work]);
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("doctor without access to /dev/kvm says so with the fix, and that the image builds without root", async () => {
    const access = await canOpenKvm("bb-user");
    if (isRoot) expect(access, "bb-user must not be in group kvm").to.equal(false);
    const doctor = await asUser("bb-user", checkout, ["npx", "balloon-bench", "doctor"], {
      XDG_CACHE_HOME: join(work, "cache"),
    });
    expect(doctor.exitCode, doctor.all).to.equal(0);
    expect(doctor.stdout).to.match(/^ok +image build +without root: mmdebstrap --mode=unshare/m);
    if (access) return; // a normal user with access: the next test is theirs
    expect(doctor.stdout).to.match(
      /^warn +kvm +KVM is not usable for stock kernels: \/dev\/kvm exists but this user cannot open it read-write \(add the user to group kvm\) -- fix: sudo usermod --append --groups kvm \$USER/m,
    );
    expect(doctor.stdout).to.match(/^ok +accel auto +--accel auto chooses tcg/m);
  });

  it("doctor with access to /dev/kvm goes past the permission check", async function () {
    const user = isRoot ? "bb-kvm-user" : "bb-user";
    if (!(await canOpenKvm(user)) && !isRoot) {
      // A normal user without access: there is no user with access to run this as.
      expect(await canOpenKvm(user)).to.equal(false);
      return;
    }
    expect(
      await canOpenKvm(user),
      "bb-kvm-user must be in group kvm (scripts/ci-users.sh)",
    ).to.equal(true);
    const doctor = await asUser(
      user,
      "/",
      ["node", join(checkout, "dist/src/cli/main.js"), "doctor"],
      {
        XDG_CACHE_HOME: join(work, "home-bb-kvm-user", "cache"),
        HOME: join(work, "home-bb-kvm-user"),
      },
    );
    expect(doctor.exitCode, doctor.all).to.equal(0);
    expect(doctor.stdout).to.match(/^(ok|warn) +kvm /m);
    expect(doctor.stdout).not.to.contain("cannot open it read-write");
  });

  it("npx balloon-bench run (the README's main command, set-up done): builds the image without root and runs", async () => {
    const cache = join(work, "cache");
    const run = await asUser(
      "bb-user",
      checkout,
      ["npx", "balloon-bench", "run", "--iterations", "2", "--size", "16", "--settle", "200"],
      { XDG_CACHE_HOME: cache },
    );
    expect(run.exitCode, run.all).to.equal(0);
    expect(run.stderr).to.contain("in a user namespace (not root)");
    expect(run.stdout).to.match(/task-clock +\d+(\.\d+)? ms ± /);
    const results = await readdir(join(checkout, "results"));
    expect(results).to.have.length(1);
    // Everything the user's run made is the user's: a later run as them can use it.
    const foreign = await execa("find", [
      cache,
      checkout,
      "!",
      "-user",
      isRoot ? "bb-user" : String(process.getuid?.()),
      "-print",
      "-quit",
    ]);
    expect(foreign.stdout).to.equal("");
  });
});
