// One lab host: an overlay of the base tree with its own identity, booted with real systemd
// under systemd-nspawn inside its network namespace (flags from lab-facts.md).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { LvsctlError } from "../errors/index.js";
import { alive, childrenOf, cmdline, innermostPid, runOk, runSync, sleep, sleepSync } from "./proc.js";

export interface HostPaths {
  dir: string;
  upper: string;
  work: string;
  root: string;
}

export function hostPaths(slotDir: string, name: string): HostPaths {
  const dir = join(slotDir, "hosts", name);
  return { dir, upper: join(dir, "upper"), work: join(dir, "work"), root: join(dir, "root") };
}

/** Host key types generated per host (RSA left out: slow to generate and every client here speaks ed25519). */
export const HOST_KEY_TYPES = ["ed25519", "ecdsa"] as const;

/** Fresh overlay (an old upper dir is discarded) mounted at p.root. */
export async function mountFreshOverlay(base: string, p: HostPaths): Promise<void> {
  rmSync(p.dir, { recursive: true, force: true });
  for (const d of [p.upper, p.work, p.root]) mkdirSync(d, { recursive: true });
  await runOk(["mount", "-t", "overlay", "lvslab", "-o", `lowerdir=${base},upperdir=${p.upper},workdir=${p.work}`, p.root]);
}

/** Hostname, machine-id, /etc/hosts with every lab host, and fresh SSH host keys. */
export async function writeIdentity(root: string, name: string, hostsFile: string): Promise<string[]> {
  writeFileSync(join(root, "etc/hostname"), `${name}\n`);
  writeFileSync(join(root, "etc/machine-id"), `${randomBytes(16).toString("hex")}\n`);
  writeFileSync(join(root, "etc/hosts"), hostsFile);
  return generateHostKeys(root, name);
}

/** Writes new host keys under ROOT/etc/ssh from the host side (the overlay is mounted there). Returns the public keys. */
export async function generateHostKeys(root: string, name: string): Promise<string[]> {
  const pubs: string[] = [];
  for (const t of HOST_KEY_TYPES) {
    const file = `/etc/ssh/ssh_host_${t}_key`;
    rmSync(join(root, file), { force: true });
    rmSync(join(root, `${file}.pub`), { force: true });
    await runOk(["ssh-keygen", "-q", "-t", t, "-N", "", "-C", `root@${name}`, "-f", join(root, file)]);
    pubs.push(readFileSync(join(root, `${file}.pub`), "utf8").trim());
  }
  return pubs;
}

/** `type base64` of each public key, without the comment. */
export function hostKeyLines(names: string[], pubs: string[]): string[] {
  return pubs.map((p) => `${names.join(",")} ${p.split(/\s+/).slice(0, 2).join(" ")}`);
}

export const NSPAWN_BASE_ARGS = ["-q", "--register=no", "--keep-unit", "--capability=CAP_NET_ADMIN"] as const;

/** The nspawn machine name: also how a sweep recognises this slot's containers after a crash. */
export function machineName(slot: number, name: string): string {
  return `lvslab${slot}-${name}`;
}

/**
 * The cgroup hierarchies systemd uses here: the v1 `name=systemd` tree and, on a hybrid setup, the
 * v2 tree at unified/; or the v2 tree at /sys/fs/cgroup itself on a pure cgroup2 machine.
 */
export function systemdCgroupRoots(): string[] {
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return ["/sys/fs/cgroup"];
  return ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"].filter((d) => existsSync(join(d, "cgroup.procs")));
}

/** Each container's own cgroup (relative to a hierarchy root). */
export function containerCgroup(slot: number, name: string): string {
  return `lvslab/${slot}-${name}`;
}

/**
 * Why a cgroup per container: with --keep-unit, nspawn puts its payload in a `payload` child of
 * its own cgroup. Started from one cgroup, every container would share /payload (measured: all
 * PID 1s in /payload/init.scope), so their systemds manage the same unit cgroups and step on each
 * other (units failing with status=219/CGROUP). A shell moves itself into lvslab/SLOT-NAME in each
 * hierarchy, then execs nspawn there.
 */
const CGROUP_WRAPPER = 'set -e; cg="$1"; shift; for r in $LVSLAB_CG_ROOTS; do mkdir -p "$r/$cg"; echo $$ > "$r/$cg/cgroup.procs"; done; exec systemd-nspawn "$@"';

/** Starts `systemd-nspawn -b` detached (stdin ignored, console to the log) in its own cgroup. Returns its pid. */
export function spawnContainer(opts: { slot: number; name: string; root: string; netns: string; logFile: string; extraArgs: readonly string[] }): number {
  mkdirSync(join(opts.logFile, ".."), { recursive: true });
  const out = openSync(opts.logFile, "a");
  writeFileSync(out, `\n==== lvslab boot ${new Date().toISOString()} ====\n`);
  const argv = [
    ...NSPAWN_BASE_ARGS,
    `--machine=${machineName(opts.slot, opts.name)}`,
    "-D", opts.root,
    `--network-namespace-path=/run/netns/${opts.netns}`,
    ...opts.extraArgs,
    "-b",
  ];
  const child = spawn("/bin/sh", ["-c", CGROUP_WRAPPER, "lvslab-nspawn", containerCgroup(opts.slot, opts.name), ...argv], {
    detached: true,
    stdio: ["ignore", out, out],
    // SYSTEMD_NSPAWN_API_VFS_WRITABLE=network makes /proc/sys/net writable inside (scoped to the
    // container's netns): sysctl -w arp_ignore works (lab-facts.md).
    env: { ...process.env, SYSTEMD_NSPAWN_API_VFS_WRITABLE: "network", LVSLAB_CG_ROOTS: systemdCgroupRoots().join(" ") },
  });
  closeSync(out);
  child.on("error", () => undefined); // a missing binary shows up as the pid check below
  child.unref();
  if (child.pid === undefined) {
    throw new LvsctlError("LAB_NSPAWN", "lab: could not start systemd-nspawn", { hint: "install systemd-container (Debian package `systemd-container`)" });
  }
  return child.pid;
}

/** rmdir depth-first (cgroupfs directories hold only virtual files; rmdir removes them with the dir). */
function rmdirTree(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmdirTree(join(dir, e.name));
  rmdirSync(dir);
}

/** Removes the (empty, after teardown) cgroups of a slot's containers, deepest first. */
export function removeSlotCgroupsSync(slot: number): string[] {
  const problems: string[] = [];
  for (const r of systemdCgroupRoots()) {
    const top = join(r, "lvslab");
    let entries: string[] = [];
    try {
      entries = readdirSync(top).filter((e) => e.startsWith(`${slot}-`));
    } catch {
      continue;
    }
    for (const e of entries) {
      try {
        rmdirTree(join(top, e));
      } catch (err) {
        problems.push(`cgroup ${join(top, e)}: ${(err as Error).message}`);
      }
    }
    try {
      if (readdirSync(top).every((f) => !statSync(join(top, f)).isDirectory())) rmdirSync(top);
    } catch {
      /* another slot still uses it, or it is gone */
    }
  }
  return problems;
}

/** The container's PID 1 as the host sees it: the child of nspawn that is pid 1 in its own namespace. */
export function findPid1(nspawnPid: number): number | undefined {
  return childrenOf(nspawnPid).find((c) => innermostPid(c) === 1);
}

export async function waitPid1(nspawnPid: number, deadline: number, logFile: string): Promise<number> {
  for (;;) {
    const pid1 = findPid1(nspawnPid);
    if (pid1 !== undefined) return pid1;
    if (!alive(nspawnPid)) throw bootFailed("systemd-nspawn exited before the container started", logFile);
    if (Date.now() > deadline) throw bootFailed("the container's PID 1 did not appear in time", logFile);
    await sleep(50);
  }
}

export function logTail(logFile: string, lines = 15): string {
  try {
    return readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n    ");
  } catch {
    return "(no log)";
  }
}

export function bootFailed(why: string, logFile: string): LvsctlError {
  return new LvsctlError("LAB_BOOT", `lab: ${why}; last lines of ${logFile}:\n    ${logTail(logFile)}`, {
    hint: "units failing with status=219/CGROUP under load are a known quirk of this machine's mixed cgroups (lab-facts.md)",
  });
}

/** One attempt: connect to port 22 and read the SSH identification line (RFC 4253 section 4.2). */
export function sshBanner(address: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host: address, port });
    let buf = "";
    const done = (v: string | undefined): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => {
      buf += d;
      const line = buf.split("\n")[0] ?? "";
      if (buf.includes("\n")) done(line.startsWith("SSH-") ? line.trim() : undefined);
    });
    sock.on("error", () => done(undefined));
    sock.on("close", () => done(undefined));
  });
}

/** Polls until sshd answers with its banner, the container dies, or the deadline passes. */
export async function waitSsh(address: string, port: number, deadline: number, stillRunning: () => boolean, logFile: string): Promise<void> {
  for (;;) {
    if (await sshBanner(address, port, 1500)) return;
    if (!stillRunning()) throw bootFailed(`the container for ${address} stopped while booting`, logFile);
    if (Date.now() > deadline) throw bootFailed(`sshd on ${address}:${port} did not answer in time`, logFile);
    await sleep(200);
  }
}

/**
 * Every systemd-nspawn process this slot started (found by its --machine= argument, so a crashed
 * run's containers are found too), with the container PID 1 under each.
 */
export function findSlotContainers(slot: number): { nspawnPid: number; pid1: number | undefined; machine: string }[] {
  const prefix = `--machine=lvslab${slot}-`;
  const out: { nspawnPid: number; pid1: number | undefined; machine: string }[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const argv = cmdline(Number(d));
    if (!argv || !(argv[0] ?? "").endsWith("systemd-nspawn")) continue;
    const m = argv.find((a) => a.startsWith(prefix));
    if (m) out.push({ nspawnPid: Number(d), pid1: findPid1(Number(d)), machine: m.slice("--machine=".length) });
  }
  return out;
}

/**
 * Kills containers hard: SIGKILL to each PID 1 ends its whole pid namespace, then every nspawn
 * exits by itself (all killed first, then waited for together). Returns the nspawn pids that
 * survived even their own SIGKILL.
 */
export function killContainersSync(containers: readonly { nspawnPid: number; pid1?: number | undefined }[], waitMs = 5000): number[] {
  for (const c of containers) {
    const p1 = c.pid1 ?? findPid1(c.nspawnPid);
    if (p1 !== undefined && alive(p1)) {
      try {
        process.kill(p1, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  }
  const deadline = Date.now() + waitMs;
  let left = containers.filter((c) => alive(c.nspawnPid));
  while (left.length > 0 && Date.now() < deadline) {
    sleepSync(20);
    left = left.filter((c) => alive(c.nspawnPid));
  }
  for (const c of left) {
    try {
      process.kill(c.nspawnPid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  if (left.length > 0) sleepSync(200);
  return left.filter((c) => alive(c.nspawnPid)).map((c) => c.nspawnPid);
}

/** Mount points at or under `dir` (from /proc/self/mountinfo), deepest first. */
export function mountsUnder(dir: string): string[] {
  const text = readFileSync("/proc/self/mountinfo", "utf8");
  const points = text
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export function unmountUnderSync(dir: string): string[] {
  const problems: string[] = [];
  for (const m of mountsUnder(dir)) {
    if (runSync(["umount", m]).code !== 0) {
      const r = runSync(["umount", "-l", m]);
      if (r.code !== 0) problems.push(`umount ${m}: ${r.stderr.trim()}`);
    }
  }
  return problems;
}
