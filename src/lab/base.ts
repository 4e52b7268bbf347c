// The shared base tree: Debian 12 debootstrapped once into .lab/base, then configured so every
// host booted from an overlay of it is a plausible real server (sshd, sudo, python3 for Ansible,
// keepalived/ipvsadm/nodejs for the director tests). Host-specific bits (hostname, machine-id, SSH
// host keys, address) are NOT in the base; host.ts writes them into each overlay.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { LvsctlError } from "../errors/index.js";
import { findMirror } from "./mirror.js";
import { paths } from "./paths.js";
import { run, runOk, withLock } from "./proc.js";

export const SUITE = "bookworm";

/** What debootstrap installs (lab-facts.md; python3 for Ansible, keepalived/ipvsadm/nodejs for the daemon tests). */
export const BASE_PACKAGES = [
  "systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "sudo", "python3", "procps", "kmod",
  "iputils-ping", "curl", "ca-certificates", "keepalived", "ipvsadm", "nodejs",
] as const;

/** Bump when configureBase() changes: an existing tree is then reconfigured (not re-debootstrapped). */
export const BASE_CONFIG_VERSION = 1;

/** The lab's users. Root and deploy log in with the lab key; deploy has NOPASSWD sudo. */
export const DEPLOY_USER = "deploy";
/** pwuser logs in with the lab key (or this password) and its sudo asks for the password. */
export const PW_USER = { name: "pwuser", password: "lab-sudo-pw-7" } as const;

/**
 * Units masked in the base: timers that would wake 50 hosts at once (apt, dpkg backups, e2scrub,
 * fstrim), gettys (nothing reads the console), and systemd-networkd-wait-online (the address is
 * set from the host side before boot, so nothing is left to wait for).
 */
export const MASKED_UNITS = [
  "apt-daily.timer", "apt-daily-upgrade.timer", "apt-daily.service", "apt-daily-upgrade.service",
  "dpkg-db-backup.timer", "e2scrub_all.timer", "e2scrub_reap.service", "fstrim.timer",
  "console-getty.service", "container-getty@.service", "getty@.service", "getty-static.service", "serial-getty@.service",
  "systemd-networkd-wait-online.service",
] as const;

/** Enabled by the packages, disabled in the base: tests enable keepalived when they need it. */
const DISABLED_WANTS = ["multi-user.target.wants/keepalived.service", "getty.target.wants/getty@tty1.service"];

const SSHD_DROP_IN = `# lvslab: a real-server-like sshd for the lab (src/lab/base.ts)
UseDNS no
PermitRootLogin prohibit-password
MaxSessions 10
MaxStartups 100:30:200
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key
`;

interface BaseStamp {
  suite: string;
  packages: string[];
  debootstrapSeconds: number;
  configVersion?: number;
  pubKey?: string;
}

export interface BaseInfo {
  dir: string;
  keyFile: string;
  pubKey: string;
  /** True when this call ran debootstrap (false: reused the cached tree). */
  built: boolean;
  /** Seconds debootstrap took when the tree was built (now or earlier). */
  debootstrapSeconds: number;
}

export interface EnsureBaseOptions {
  log?: (line: string) => void;
  /** Give up waiting for another process's build after this long. */
  lockTimeoutMs?: number;
}

function readStamp(): BaseStamp | undefined {
  try {
    return JSON.parse(readFileSync(paths.baseStamp(), "utf8")) as BaseStamp;
  } catch {
    return undefined;
  }
}

function stampMatches(s: BaseStamp | undefined): s is BaseStamp {
  return !!s && s.suite === SUITE && s.packages.join(",") === BASE_PACKAGES.join(",") && existsSync(join(paths.base(), "usr/sbin/sshd"));
}

/** Makes sure the lab key and a complete, configured base tree exist; builds what is missing. */
export async function ensureBase(opts: EnsureBaseOptions = {}): Promise<BaseInfo> {
  const log = opts.log ?? (() => undefined);
  mkdirSync(paths.keys(), { recursive: true });
  return withLock(paths.baseLock(), opts.lockTimeoutMs ?? 10 * 60_000, "the base tree build", async () => {
    const keyFile = paths.keyFile();
    if (!existsSync(keyFile) || !existsSync(`${keyFile}.pub`)) {
      rmSync(keyFile, { force: true });
      rmSync(`${keyFile}.pub`, { force: true });
      await runOk(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lvslab", "-f", keyFile]);
    }
    const pubKey = readFileSync(`${keyFile}.pub`, "utf8").trim();

    let stamp = readStamp();
    let built = false;
    const rebuild = !stampMatches(stamp);
    if (rebuild || stamp?.configVersion !== BASE_CONFIG_VERSION || stamp?.pubKey !== pubKey) {
      // Changing the lowerdir under mounted overlays is undefined behaviour (overlayfs docs, "Changes
      // to underlying filesystems"): never touch a base that a running lab uses.
      const users = overlaysOn(paths.base());
      if (users.length > 0) {
        throw new LvsctlError("LAB_BASE_BUSY", `lab: the base tree needs a ${rebuild ? "rebuild" : "reconfiguration"} but ${users.length} running lab hosts use it (${users.slice(0, 3).join(", ")})`, {
          hint: "tear those labs down first: npx tsx scripts/lab.ts status / down --slot N",
        });
      }
    }
    if (!stampMatches(stamp)) {
      const tmp = `${paths.base()}.tmp`;
      rmSync(tmp, { recursive: true, force: true });
      rmSync(paths.baseStamp(), { force: true });
      const mirror = findMirror(SUITE);
      log(`lab: debootstrap ${SUITE} into ${tmp} (about a minute)`);
      const t0 = Date.now();
      const argv = ["debootstrap", "--variant=minbase", `--include=${BASE_PACKAGES.join(",")}`, SUITE, tmp, mirror];
      const r = await run(argv, { timeoutMs: 15 * 60_000 });
      writeFileSync(paths.baseLog(), `$ ${argv.join(" ")}\n${r.stdout}\n${r.stderr}`);
      if (r.code !== 0) {
        throw new LvsctlError("LAB_DEBOOTSTRAP", `lab: debootstrap failed with ${r.code} (log: ${paths.baseLog()})`, {
          hint: "install debootstrap (Debian package `debootstrap`) and check that the apt mirror answers",
        });
      }
      const seconds = (Date.now() - t0) / 1000;
      // Nothing mounts a half-built tree: it is renamed into place only when complete.
      rmSync(paths.base(), { recursive: true, force: true });
      renameSync(tmp, paths.base());
      stamp = { suite: SUITE, packages: [...BASE_PACKAGES], debootstrapSeconds: seconds };
      writeFileSync(paths.baseStamp(), JSON.stringify(stamp, null, 2));
      built = true;
      log(`lab: debootstrap took ${seconds.toFixed(1)} s`);
    }
    if (stamp.configVersion !== BASE_CONFIG_VERSION || stamp.pubKey !== pubKey) {
      await configureBase(paths.base(), pubKey);
      stamp = { ...stamp, configVersion: BASE_CONFIG_VERSION, pubKey };
      writeFileSync(paths.baseStamp(), JSON.stringify(stamp, null, 2));
      log("lab: base configured");
    }
    return { dir: paths.base(), keyFile, pubKey, built, debootstrapSeconds: stamp.debootstrapSeconds };
  });
}

/** Mount points of overlays whose lowerdir is `base` (from /proc/self/mountinfo). */
export function overlaysOn(base: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => / - overlay /.test(l) && l.includes(`lowerdir=${base},`))
    .map((l) => l.split(" ")[4] ?? "?");
}

function write(root: string, path: string, content: string, mode = 0o644): void {
  const full = join(root, path);
  mkdirSync(join(full, ".."), { recursive: true });
  writeFileSync(full, content);
  chmodSync(full, mode);
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Idempotent: safe to run again on a configured tree (a new key, a new config version). */
async function configureBase(root: string, pubKey: string): Promise<void> {
  const chroot = (...argv: string[]): Promise<string> => runOk(["chroot", root, ...argv]);

  // Host identity comes per host; the base must not hand every host the same keys or machine-id.
  for (const k of ["rsa", "ecdsa", "ed25519"]) {
    rmSync(join(root, `etc/ssh/ssh_host_${k}_key`), { force: true });
    rmSync(join(root, `etc/ssh/ssh_host_${k}_key.pub`), { force: true });
  }
  write(root, "etc/machine-id", "");
  rmSync(join(root, "etc/hostname"), { force: true });
  write(root, "etc/ssh/sshd_config.d/10-lvslab.conf", SSHD_DROP_IN);

  // Volatile journal: 50 hosts writing journals to disk slow each other down for nothing.
  write(root, "etc/systemd/journald.conf.d/10-lvslab.conf", "[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\n");

  for (const unit of MASKED_UNITS) {
    const link = join(root, "etc/systemd/system", unit);
    if (exists(link)) unlinkSync(link);
    symlinkSync("/dev/null", link);
  }
  for (const w of DISABLED_WANTS) rmSync(join(root, "etc/systemd/system", w), { force: true });

  const passwd = readFileSync(join(root, "etc/passwd"), "utf8");
  for (const user of [DEPLOY_USER, PW_USER.name]) {
    if (!new RegExp(`^${user}:`, "m").test(passwd)) await chroot("useradd", "-m", "-s", "/bin/bash", user);
  }
  await runOk(["chroot", root, "chpasswd"], { input: `${PW_USER.name}:${PW_USER.password}\n` });
  write(root, `etc/sudoers.d/${DEPLOY_USER}`, `${DEPLOY_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n`, 0o440);
  write(root, `etc/sudoers.d/${PW_USER.name}`, `${PW_USER.name} ALL=(ALL:ALL) ALL\n`, 0o440);
  await chroot("visudo", "-c", "-q");

  for (const [user, home] of [["root", "root"], [DEPLOY_USER, `home/${DEPLOY_USER}`], [PW_USER.name, `home/${PW_USER.name}`]] as const) {
    write(root, `${home}/.ssh/authorized_keys`, `${pubKey}\n`, 0o600);
    chmodSync(join(root, home, ".ssh"), 0o700);
    await chroot("chown", "-R", `${user}:${user}`, `/${home}/.ssh`);
  }
  write(root, "etc/lvslab-base", `lvslab base, config version ${BASE_CONFIG_VERSION}\n`);
}
