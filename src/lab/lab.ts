// The Lab: N hosts in one slot (network, overlays, containers), its state on disk so a crashed
// run is cleaned up by the next one and the CLI can attach to a lab it left running.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LvsctlError } from "../errors/index.js";
import { DEPLOY_USER, PW_USER, ensureBase } from "./base.js";
import {
  findSlotContainers, generateHostKeys, removeSlotCgroupsSync, hostKeyLines, hostPaths, killContainersSync, mountFreshOverlay, mountsUnder,
  spawnContainer, unmountUnderSync, waitPid1, waitSsh, writeIdentity,
} from "./host.js";
import { MAX_HOSTS, MAX_SLOT, addHosts, createHub, destroyNetSync, freeAddress, hostAddress, listNamespaces, netNames, setHostLink, subnet } from "./net.js";
import { paths } from "./paths.js";
import { alive, commandFailed, exitTeardown, pool, procStat, run, sleep, type RunResult } from "./proc.js";

export const SSH_PORT = 22;

export interface LabHost {
  name: string;
  address: string;
  port: number;
  /** 0-based position; the address is 10.77.SLOT.(10+index). */
  index: number;
  /** The host's network namespace (`ip netns exec NETNS ...` runs a command in its network only). */
  netns: string;
  /** The host's root filesystem as mounted on this machine (the overlay's merged dir). */
  root: string;
}

export interface LabUpOptions {
  /** Host names, or a count: `prefix1..prefixN`. Names: lowercase letters, digits, '-'; up to 30 chars. */
  hosts: readonly string[] | number;
  /** Name prefix when `hosts` is a count (default "h"). */
  prefix?: string;
  /** Lab slot 0..63 (subnet 10.77.SLOT.0/24); default: the first free slot from 1 (the CLI uses 0). */
  slot?: number;
  /** Keep running after this process exits (the CLI); default false: torn down on exit. */
  persistent?: boolean;
  /** Bound for booting all hosts to a working sshd (default 60 s + 1 s per host). */
  bootTimeoutMs?: number;
  /** Extra systemd-nspawn arguments for every host (e.g. another --capability=). */
  nspawnArgs?: readonly string[];
  log?: (line: string) => void;
}

interface HostState {
  name: string;
  index: number;
  address: string;
  nspawnPid?: number;
  pid1?: number;
  /** The host was stopped with stop() (container off, cable unplugged). */
  stopped?: boolean;
}

interface LabState {
  slot: number;
  persistent: boolean;
  createdAt: string;
  nspawnArgs: string[];
  hosts: HostState[];
}

interface SlotOwner {
  pid: number;
  pidStart: number;
  persistent: boolean;
}

const NAME_RE = /^[a-z][a-z0-9-]{0,29}$/;
const statePath = (slot: number): string => join(paths.slotDir(slot), "state.json");

// ---------------------------------------------------------------- slots and stale cleanup

function readOwner(slot: number): SlotOwner | undefined {
  try {
    return JSON.parse(readFileSync(paths.slotFile(slot), "utf8")) as SlotOwner;
  } catch {
    return undefined;
  }
}

function ownerAlive(o: SlotOwner): boolean {
  return alive(o.pid) && procStat(o.pid)?.startTime === o.pidStart;
}

function tryClaim(slot: number, persistent: boolean): boolean {
  mkdirSync(paths.run(), { recursive: true });
  const owner: SlotOwner = { pid: process.pid, pidStart: procStat(process.pid)?.startTime ?? 0, persistent };
  try {
    const fd = openSync(paths.slotFile(slot), "wx");
    writeFileSync(fd, JSON.stringify(owner));
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
}

/** Slots with lab resources (namespaces, mounts, containers) or a slot file. */
function slotsInUse(): Set<number> {
  const slots = new Set<number>();
  for (const ns of listNamespaces("lvslab")) {
    const m = /^lvslab(\d+)-/.exec(ns);
    if (m) slots.add(Number(m[1]));
  }
  try {
    for (const f of readdirSync(paths.run())) {
      const m = /^slot-(\d+)\.json$/.exec(f);
      if (m) slots.add(Number(m[1]));
    }
  } catch {
    /* no run dir yet */
  }
  for (const m of existsSync("/proc/self/mountinfo") ? mountsUnderLab() : []) slots.add(m);
  return slots;
}

function mountsUnderLab(): number[] {
  const out: number[] = [];
  for (let s = 0; s <= MAX_SLOT; s++) if (existsSync(paths.slotDir(s)) && mountsUnder(paths.slotDir(s)).length > 0) out.push(s);
  return out;
}

/**
 * Tears down every slot whose owner is gone (a crashed or killed test run) and resources no slot
 * file claims. Persistent labs (the CLI's) and labs of live processes are left alone.
 * Returns what it cleaned, one line per slot.
 */
export function cleanupStale(log: (line: string) => void = () => undefined): string[] {
  const cleaned: string[] = [];
  for (const slot of [...slotsInUse()].sort((a, b) => a - b)) {
    const owner = readOwner(slot);
    if (owner && (owner.persistent || ownerAlive(owner))) continue;
    const problems = teardownSlotSync(slot);
    const line = `slot ${slot}: stale lab removed${owner ? ` (owner pid ${owner.pid} is gone)` : " (no owner)"}${problems.length ? `; problems: ${problems.join("; ")}` : ""}`;
    log(`lab: ${line}`);
    cleaned.push(line);
  }
  return cleaned;
}

/** Stops the slot's containers, unmounts, deletes namespaces and links, frees the slot. Idempotent. */
export function teardownSlotSync(slot: number): string[] {
  const problems: string[] = [];
  for (const pid of killContainersSync(findSlotContainers(slot))) problems.push(`container (nspawn pid ${pid}) did not stop`);
  const dir = paths.slotDir(slot);
  problems.push(...unmountUnderSync(dir));
  problems.push(...destroyNetSync(slot));
  problems.push(...removeSlotCgroupsSync(slot));
  if (mountsUnder(dir).length === 0) {
    rmSync(join(dir, "hosts"), { recursive: true, force: true });
    rmSync(statePath(slot), { force: true });
  } else {
    problems.push(`still mounted under ${dir}: ${mountsUnder(dir).join(", ")}`);
  }
  rmSync(paths.slotFile(slot), { force: true });
  return problems;
}

// ---------------------------------------------------------------- teardown on exit

const { track, untrack } = exitTeardown<Lab>();

// ---------------------------------------------------------------- the lab

/** Raises the inotify limits that cap the number of containers (lab-facts.md: ~19 without this). */
export function raiseInotifyLimits(): void {
  const raise = (key: string, min: number): void => {
    const file = `/proc/sys/fs/inotify/${key}`;
    if (Number(readFileSync(file, "utf8").trim()) < min) writeFileSync(file, String(min));
  };
  raise("max_user_instances", 8192);
  raise("max_user_watches", 1048576);
}

function hostNames(opts: LabUpOptions): string[] {
  const names = typeof opts.hosts === "number" ? Array.from({ length: opts.hosts }, (_, i) => `${opts.prefix ?? "h"}${i + 1}`) : [...opts.hosts];
  if (names.length === 0 || names.length > MAX_HOSTS) throw new LvsctlError("LAB_HOSTS", `lab: ${names.length} hosts asked for; 1..${MAX_HOSTS} fit a lab`);
  for (const n of names) {
    if (!NAME_RE.test(n) || n === "hub") throw new LvsctlError("LAB_HOSTS", `lab: bad host name ${JSON.stringify(n)}`, { hint: "lowercase letters, digits and '-', starting with a letter, up to 30 characters; not 'hub'" });
  }
  if (new Set(names).size !== names.length) throw new LvsctlError("LAB_HOSTS", "lab: host names repeat");
  return names;
}

export class Lab {
  readonly slot: number;
  readonly persistent: boolean;
  readonly hosts: LabHost[];
  /** Private key root, deploy and pwuser accept (ed25519, no passphrase). */
  readonly keyFile = paths.keyFile();
  /** known_hosts with every host's keys, plain entries: `NAME,ADDRESS TYPE BASE64`. */
  readonly knownHostsFile: string;
  /** ssh_config with a Host entry per lab host (User root, the key, the known_hosts, StrictHostKeyChecking yes). */
  readonly sshConfigFile: string;
  readonly deployUser = DEPLOY_USER;
  readonly pwUser: { readonly name: string; readonly password: string } = PW_USER;
  /** The root namespace's address on the lab network, and the lab's subnet. */
  readonly gateway: string;
  readonly subnet: string;
  readonly dir: string;
  #state: LabState;
  #down = false;

  private constructor(state: LabState) {
    this.#state = state;
    this.slot = state.slot;
    this.persistent = state.persistent;
    this.dir = paths.slotDir(state.slot);
    this.knownHostsFile = join(this.dir, "known_hosts");
    this.sshConfigFile = join(this.dir, "ssh_config");
    this.gateway = subnet(state.slot).gateway;
    this.subnet = subnet(state.slot).cidr;
    const n = netNames(state.slot);
    this.hosts = state.hosts.map((h) => ({ name: h.name, address: h.address, port: SSH_PORT, index: h.index, netns: n.hostNs(h.name), root: hostPaths(this.dir, h.name).root }));
  }

  /** Builds (or reuses) the base, then boots the hosts in parallel until each one's sshd answers. */
  static async up(opts: LabUpOptions): Promise<Lab> {
    const log = opts.log ?? (() => undefined);
    if (process.getuid?.() !== 0) throw new LvsctlError("LAB_NOT_ROOT", "lab: needs root (namespaces, mounts, systemd-nspawn)");
    const names = hostNames(opts);
    cleanupStale(log);
    const persistent = opts.persistent ?? false;
    let slot: number | undefined;
    if (opts.slot !== undefined) {
      if (!Number.isInteger(opts.slot) || opts.slot < 0 || opts.slot > MAX_SLOT) throw new LvsctlError("LAB_SLOT", `lab: slot ${opts.slot} is outside 0..${MAX_SLOT}`);
      if (!tryClaim(opts.slot, persistent)) {
        const o = readOwner(opts.slot);
        throw new LvsctlError("LAB_SLOT_BUSY", `lab: slot ${opts.slot} is in use by ${o?.persistent ? "a persistent lab" : `pid ${o?.pid}`}`, {
          hint: `npx tsx scripts/lab.ts down --slot ${opts.slot}`,
        });
      }
      slot = opts.slot;
    } else {
      for (let s = 1; s <= MAX_SLOT && slot === undefined; s++) if (tryClaim(s, persistent)) slot = s;
      if (slot === undefined) throw new LvsctlError("LAB_SLOT_BUSY", "lab: every slot is in use", { hint: "npx tsx scripts/lab.ts status" });
    }
    const state: LabState = {
      slot,
      persistent,
      createdAt: new Date().toISOString(),
      nspawnArgs: [...(opts.nspawnArgs ?? [])],
      hosts: names.map((name, index) => ({ name, index, address: hostAddress(slot, index) })),
    };
    const lab = new Lab(state);
    if (!persistent) track(lab);
    try {
      await lab.#create(log, opts.bootTimeoutMs ?? 60_000 + 1000 * names.length);
    } catch (e) {
      lab.downSync();
      throw e;
    }
    return lab;
  }

  /** A lab that another process left running (the CLI's persistent lab). */
  static attach(slot = 0): Lab {
    let state: LabState;
    try {
      state = JSON.parse(readFileSync(statePath(slot), "utf8")) as LabState;
    } catch {
      throw new LvsctlError("LAB_NOT_UP", `lab: no lab is up in slot ${slot}`, { hint: "npx tsx scripts/lab.ts up" });
    }
    return new Lab(state);
  }

  async #create(log: (line: string) => void, bootTimeoutMs: number): Promise<void> {
    const base = await ensureBase({ log });
    raiseInotifyLimits();
    const left = [...unmountUnderSync(this.dir), ...mountsUnder(this.dir)];
    if (left.length > 0) throw new LvsctlError("LAB_TEARDOWN", `lab: cannot clear ${this.dir}: ${left.join("; ")}`);
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(join(this.dir, "logs"), { recursive: true });
    this.#save();
    const t0 = Date.now();
    await createHub(this.slot);
    await addHosts(this.slot, this.#state.hosts);
    const etcHosts = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", ...this.hosts.map((h) => `${h.address}\t${h.name}`)].join("\n") + "\n";
    const known = await pool(this.hosts, 4, async (h) => {
      const p = hostPaths(this.dir, h.name);
      await mountFreshOverlay(base.dir, p);
      return hostKeyLines([h.name, h.address], await writeIdentity(p.root, h.name, etcHosts));
    });
    writeFileSync(this.knownHostsFile, known.flat().join("\n") + "\n");
    writeFileSync(this.sshConfigFile, this.#sshConfig());
    log(`lab: slot ${this.slot}: ${this.hosts.length} hosts prepared in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const t1 = Date.now();
    const deadline = Date.now() + bootTimeoutMs;
    await Promise.all(this.hosts.map((h) => this.#boot(h, deadline)));
    log(`lab: slot ${this.slot}: ${this.hosts.length} hosts answer on ssh after ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  }

  #sshConfig(): string {
    return this.hosts
      .map((h) => [
        `Host ${h.name}`,
        `  HostName ${h.address}`,
        `  Port ${h.port}`,
        "  User root",
        `  IdentityFile ${this.keyFile}`,
        "  IdentitiesOnly yes",
        `  UserKnownHostsFile ${this.knownHostsFile}`,
        "  StrictHostKeyChecking yes",
        "  GlobalKnownHostsFile /dev/null",
        "  LogLevel ERROR",
        "",
      ].join("\n"))
      .join("\n");
  }

  #save(): void {
    writeFileSync(statePath(this.slot), JSON.stringify(this.#state, null, 2));
  }

  #hs(name: string): HostState {
    const h = this.#state.hosts.find((x) => x.name === name);
    if (!h) throw new LvsctlError("LAB_NO_HOST", `lab: no host ${JSON.stringify(name)} in slot ${this.slot}`, { hint: `hosts: ${this.hosts.map((x) => x.name).join(", ")}` });
    return h;
  }

  #logFile(name: string): string {
    return join(this.dir, "logs", `${name}.log`);
  }

  async #boot(h: LabHost, deadline: number): Promise<void> {
    const hs = this.#hs(h.name);
    const logFile = this.#logFile(h.name);
    const nspawnPid = spawnContainer({ slot: this.slot, name: h.name, root: h.root, netns: h.netns, logFile, extraArgs: this.#state.nspawnArgs });
    hs.nspawnPid = nspawnPid;
    delete hs.pid1;
    this.#save();
    hs.pid1 = await waitPid1(nspawnPid, deadline, logFile);
    this.#save();
    await waitSsh(h.address, h.port, deadline, () => alive(nspawnPid), logFile);
  }

  /** The host by name (throws with the list of names when there is none). */
  host(name: string): LabHost {
    this.#hs(name);
    return this.hosts.find((h) => h.name === name)!;
  }

  /** An address in the lab subnet no host has (for VIPs); k = 0..54 gives 10.77.SLOT.(200+k). */
  freeAddress(k: number): string {
    return freeAddress(this.slot, k);
  }

  /** The log file of a host's console (systemd's boot messages). */
  logFile(name: string): string {
    this.#hs(name);
    return this.#logFile(name);
  }

  /** argv for OpenSSH's client to `name` as `user` (default root), strict host key checking on the lab file. */
  sshArgs(name: string, user = "root"): string[] {
    const h = this.host(name);
    return [
      "ssh", "-F", "/dev/null", "-i", this.keyFile, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
      "-o", `UserKnownHostsFile=${this.knownHostsFile}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
      "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "-p", String(h.port), `${user}@${h.address}`,
    ];
  }

  /**
   * Makes the host unreachable from this machine (the root namespace) while the other lab hosts
   * still reach it: a blackhole route to the gateway inside the host's namespace drops its replies.
   * For jump-host tests: the target then only answers through another host. Survives reboots.
   */
  async setControllerReachable(name: string, reachable: boolean): Promise<void> {
    const h = this.host(name);
    const argv = ["ip", "-n", h.netns, "route", reachable ? "del" : "replace", "blackhole", `${this.gateway}/32`];
    const r = await run(argv);
    if (r.code !== 0 && !(reachable && /No such process|not found/i.test(r.stderr))) throw commandFailed(argv, r);
  }

  /**
   * Writes an Ansible INI inventory of the lab (group `lab`, user root, the lab key, strict host
   * key checking against the lab's known_hosts, /usr/bin/python3) and returns its path.
   */
  writeAnsibleInventory(file = join(this.dir, "ansible-hosts.ini"), user = "root"): string {
    const sshArgs = `-o UserKnownHostsFile=${this.knownHostsFile} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`;
    const lines = [
      "[lab]",
      ...this.hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_port=${h.port}`),
      "",
      "[lab:vars]",
      `ansible_user=${user}`,
      `ansible_ssh_private_key_file=${this.keyFile}`,
      `ansible_ssh_common_args='${sshArgs}'`,
      "ansible_python_interpreter=/usr/bin/python3",
      "",
    ];
    writeFileSync(file, lines.join("\n"));
    return file;
  }

  /**
   * Waits until systemd inside has finished booting (sshd answers earlier) and returns
   * `systemctl is-system-running`: "running", or "degraded" with the failed units listed.
   */
  async waitBooted(name: string, timeoutMs = 60_000): Promise<{ state: string; failedUnits: string[] }> {
    const r = await this.exec(name, "systemctl is-system-running --wait; systemctl --failed --no-legend --plain | cut -d' ' -f1", { timeoutMs });
    const [state = "", ...failed] = r.stdout.trim().split("\n");
    return { state, failedUnits: failed.filter((u) => u !== "") };
  }

  /** True while the host's container runs. */
  isRunning(name: string): boolean {
    const hs = this.#hs(name);
    return hs.nspawnPid !== undefined && alive(hs.nspawnPid) && !hs.stopped;
  }

  /**
   * Runs a shell command (or an argv) inside the host as root without SSH: nsenter into the
   * namespaces of the container's PID 1. Never throws for a non-zero exit; see execOk().
   */
  async exec(name: string, cmd: string | readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    const hs = this.#hs(name);
    if (hs.pid1 === undefined || !alive(hs.pid1)) throw new LvsctlError("LAB_HOST_DOWN", `lab: host ${name} is not running`, { hint: `lab.start(${JSON.stringify(name)})` });
    const argv = typeof cmd === "string" ? ["/bin/sh", "-c", cmd] : [...cmd];
    return run(["nsenter", "-t", String(hs.pid1), "-a", "--", ...argv], {
      input: opts.input ?? "",
      timeoutMs: opts.timeoutMs ?? 60_000,
      env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", LANG: "C.UTF-8", TERM: "dumb" },
    });
  }

  /** exec() that throws (with stderr) on a non-zero exit; returns stdout. */
  async execOk(name: string, cmd: string | readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.exec(name, cmd, opts);
    if (r.code !== 0) {
      throw new LvsctlError("LAB_EXEC", `lab: on ${name}: \`${typeof cmd === "string" ? cmd : cmd.join(" ")}\` exited with ${r.code}\n    ${r.stderr.trim()}`);
    }
    return r.stdout;
  }

  /** Waits until the host's nspawn exits; SIGKILLs the container when it takes longer than timeoutMs. */
  async #waitExit(hs: HostState, timeoutMs: number): Promise<"clean" | "killed"> {
    const pid = hs.nspawnPid;
    if (pid === undefined) return "clean";
    const deadline = Date.now() + timeoutMs;
    while (alive(pid) && Date.now() < deadline) await sleep(50);
    if (!alive(pid)) return "clean";
    killContainersSync([{ nspawnPid: pid, pid1: hs.pid1 }]);
    return "killed";
  }

  /**
   * An orderly reboot (`systemctl reboot` inside), then the same overlay boots again: files
   * written before are still there. Resolves when sshd answers again.
   */
  async reboot(name: string, opts: { timeoutMs?: number } = {}): Promise<{ shutdown: "clean" | "killed" }> {
    const hs = this.#hs(name);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    await this.exec(name, "systemctl reboot --no-block", { timeoutMs: 10_000 });
    const shutdown = await this.#waitExit(hs, Math.min(30_000, timeoutMs));
    await this.#boot(this.host(name), Date.now() + timeoutMs);
    return { shutdown };
  }

  /**
   * Powers the host off (orderly; killed after timeoutMs) and unplugs its cable at the bridge, so
   * connecting to it fails like a dead server (no ARP answer: EHOSTUNREACH/timeout, not refused).
   */
  async stop(name: string, opts: { timeoutMs?: number } = {}): Promise<{ shutdown: "clean" | "killed" }> {
    const hs = this.#hs(name);
    let shutdown: "clean" | "killed" = "clean";
    if (hs.nspawnPid !== undefined && alive(hs.nspawnPid)) {
      await this.exec(name, "systemctl poweroff --no-block", { timeoutMs: 10_000 }).catch(() => undefined);
      shutdown = await this.#waitExit(hs, opts.timeoutMs ?? 30_000);
    }
    await setHostLink(this.slot, hs.index, false);
    hs.stopped = true;
    delete hs.pid1;
    this.#save();
    return { shutdown };
  }

  /** Plugs the host back in and boots it (same overlay); resolves when sshd answers. */
  async start(name: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    const hs = this.#hs(name);
    if (hs.nspawnPid !== undefined && alive(hs.nspawnPid)) throw new LvsctlError("LAB_HOST_UP", `lab: host ${name} is already running`);
    await setHostLink(this.slot, hs.index, true);
    delete hs.stopped;
    await this.#boot(this.host(name), Date.now() + (opts.timeoutMs ?? 60_000));
  }

  /**
   * New SSH host keys for the host and a restart of its sshd. The lab's known_hosts file is NOT
   * updated unless asked (the point is a host key mismatch); the new entries are returned.
   */
  async rekey(name: string, opts: { updateKnownHosts?: boolean } = {}): Promise<{ knownHostsLines: string[] }> {
    const h = this.host(name);
    const lines = hostKeyLines([h.name, h.address], await generateHostKeys(h.root, h.name));
    await this.execOk(name, "systemctl restart ssh.service");
    await waitSsh(h.address, h.port, Date.now() + 20_000, () => this.isRunning(name), this.#logFile(name));
    if (opts.updateKnownHosts) {
      const keep = readFileSync(this.knownHostsFile, "utf8").split("\n").filter((l) => l !== "" && !l.startsWith(`${h.name},${h.address} `));
      writeFileSync(this.knownHostsFile, [...keep, ...lines].join("\n") + "\n");
    }
    return { knownHostsLines: lines };
  }

  /** Stops every container (hard: the lab is thrown away), unmounts, deletes namespaces and links. Safe to call twice. */
  async down(): Promise<void> {
    this.downSync();
  }

  /** down() without awaiting (for 'exit' handlers). Throws when something could not be removed. */
  downSync(): void {
    if (this.#down) return;
    this.#down = true;
    untrack(this);
    const problems = teardownSlotSync(this.slot);
    if (problems.length > 0) throw new LvsctlError("LAB_TEARDOWN", `lab: slot ${this.slot} teardown left things behind:\n    ${problems.join("\n    ")}`);
  }
}

/** Shorthand for Lab.up(opts). */
export function up(opts: LabUpOptions): Promise<Lab> {
  return Lab.up(opts);
}
