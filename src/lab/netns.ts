// Small network-namespace topologies for what needs no booted host: lvsd's VRRP and the native
// socket layer against the real kernel, `keepalived -t`, and bench/failover.
//
//   link "bridge" (the default): one hub namespace holding a bridge, every host joined to it
//     [PFX-hub: br0 (bridge) -+- a-eth0 ===veth=== eth0 10.x.y.2/24 in PFX-a ]
//                             +- b-eth0 ===veth=== eth0 10.x.y.3/24 in PFX-b
//   link "pair": exactly two hosts, one veth between them (each end sees the other's carrier)
//   link "none": namespaces only (lo up), for tests that add their own devices
//
// Namespace names carry the owner's pid (`PREFIX-PID-SEQ-NAME`), interface names do not: each
// lives in its own namespace, so they stay short and fixed (eth0; the hub port of host a's eth0 is
// a-eth0). Nothing is routed out of the namespaces. destroy() is idempotent and also runs when the
// process exits; namespaces left by a process that died without it (SIGKILL, a killed test
// runner) are removed by the next create() with the same prefix.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { LvsctlError } from "../errors/index.js";
import { alive, type RunResult } from "./proc.js";

export type NetnsLink = "bridge" | "pair" | "none";

export interface NetnsHost {
  /** [a-z][a-z0-9]{0,8}: short, because the hub port is named NAME-DEV (IFNAMSIZ is 16). */
  name: string;
  /** CIDR on the host's device, e.g. "10.88.0.2/24"; none: the device comes up without one. */
  addr?: string;
  /** A fixed MAC for the host's device (default: the kernel's random one). */
  mac?: string;
  /** The host's device (default eth0). */
  dev?: string;
}

export interface NetnsLabOptions {
  /** Start of every namespace name, [a-z][a-z0-9-]*: one per test file, so a sweep finds only its own. */
  prefix: string;
  hosts: readonly NetnsHost[];
  link?: NetnsLink;
}

export interface NetnsSegment {
  /** The bridge in the hub, e.g. "br1". */
  bridge: string;
  /** The device each host gets on it, e.g. "eth1". */
  dev: string;
  /** host name -> CIDR; every host listed is joined. */
  addrs: Record<string, string>;
}

export interface NetnsExecOptions {
  input?: string;
  timeoutMs?: number;
}

/** The hub's own name in ns(), path(), ip() and exec(). */
export const HUB = "hub";
const HOST_RE = /^[a-z][a-z0-9]{0,8}$/;
const PREFIX_RE = /^[a-z][a-z0-9-]{0,30}$/;
const NETNS_DIR = "/run/netns"; // where `ip netns add` mounts them (ip-netns(8))
const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * The first ifindex of the veth ends this module numbers itself. Two fresh namespaces number their
 * first device alike (lo is 1, the next is 2), so a veth created between them has ifindex ==
 * iflink; the kernel then takes it for a non-stacked device and delays its carrier changes by up
 * to a second (linkwatch_urgent_event() in net/core/link_watch.c). A pulled cable would go unseen
 * that long. From 100 up, no explicitly numbered end can equal its peer's index in a host
 * namespace, where the kernel counts from 2.
 */
const FIRST_OWN_INDEX = 100;

let seq = 0;
const live = new Set<NetnsLab>();
function onExit(): void {
  for (const lab of live) lab.destroy();
}

function spawnIp(argv: readonly string[], opts: NetnsExecOptions = {}): RunResult {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error("netns: empty argv");
  const r = spawnSync(cmd, args, { input: opts.input ?? "", encoding: "utf8", timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}

function failed(what: string, r: RunResult): LvsctlError {
  return new LvsctlError("LAB_NETNS", `netns: \`${what}\` exited with ${r.code}: ${(r.stderr || r.stdout).trim()}`, {
    hint: "needs root and iproute2; `ip netns list` shows what is left over",
  });
}

/** `ip [-n NS] -batch -`: one process for many commands; stops at the first that fails. */
function batch(commands: readonly string[], netns?: string): void {
  if (commands.length === 0) return;
  const argv = netns ? ["ip", "-n", netns, "-batch", "-"] : ["ip", "-batch", "-"];
  const r = spawnIp(argv, { input: commands.join("\n") + "\n" });
  if (r.code !== 0) throw failed(`${argv.join(" ")} <<${commands.join("; ")}`, r);
}

function listNetns(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

/** Deletes namespaces named PREFIX-PID-... whose PID is gone. Returns what it deleted. */
export function sweepStaleNetns(prefix: string): string[] {
  const re = new RegExp(`^${prefix}-(\\d+)-\\d+-`); // prefix is [a-z0-9-]: nothing to escape
  const stale = listNetns().filter((n) => {
    const pid = Number(re.exec(n)?.[1] ?? NaN);
    return Number.isInteger(pid) && pid !== process.pid && !alive(pid);
  });
  if (stale.length > 0) spawnIp(["ip", "-force", "-batch", "-"], { input: stale.map((n) => `netns del ${n}`).join("\n") + "\n" });
  return stale;
}

export class NetnsLab {
  readonly tag: string;
  readonly link: NetnsLink;
  readonly hosts: readonly string[];
  private readonly names: string[];
  private nextIndex = FIRST_OWN_INDEX;
  private destroyed = false;

  private constructor(o: NetnsLabOptions) {
    this.tag = `${o.prefix}-${process.pid}-${seq++}`;
    this.link = o.link ?? "bridge";
    this.hosts = o.hosts.map((h) => h.name);
    this.names = [...(this.link === "bridge" ? [HUB] : []), ...this.hosts];
  }

  /** Builds the namespaces and links; on a failure half way, what exists is deleted again. */
  static create(o: NetnsLabOptions): NetnsLab {
    if (!PREFIX_RE.test(o.prefix)) throw new LvsctlError("LAB_NETNS", `netns: prefix ${JSON.stringify(o.prefix)} is not [a-z][a-z0-9-]{0,30}`);
    const names = o.hosts.map((h) => h.name);
    for (const n of names) {
      if (!HOST_RE.test(n) || n === HUB) throw new LvsctlError("LAB_NETNS", `netns: host name ${JSON.stringify(n)} is not [a-z][a-z0-9]{0,8} (or is "${HUB}")`);
    }
    if (new Set(names).size !== names.length) throw new LvsctlError("LAB_NETNS", `netns: host names repeat: ${names.join(", ")}`);
    const link = o.link ?? "bridge";
    if (link === "pair" && o.hosts.length !== 2) throw new LvsctlError("LAB_NETNS", `netns: link "pair" joins exactly two hosts, not ${o.hosts.length}`);
    if (link === "none" && o.hosts.some((h) => h.addr || h.mac)) throw new LvsctlError("LAB_NETNS", `netns: link "none" gives hosts no device to put an address or MAC on`);
    sweepStaleNetns(o.prefix);

    const lab = new NetnsLab(o);
    if (live.size === 0) process.on("exit", onExit);
    live.add(lab);
    try {
      lab.build(o.hosts);
    } catch (e) {
      lab.destroy();
      throw e;
    }
    return lab;
  }

  private build(hosts: readonly NetnsHost[]): void {
    batch(this.names.map((n) => `netns add ${this.ns(n)}`));
    if (this.link === "bridge") {
      batch(hosts.map((h) => this.hubVeth(h.name, h.dev ?? "eth0")));
      batch(["link set lo up", "link add br0 type bridge", "link set br0 up", ...hosts.flatMap((h) => this.plug(h.name, h.dev ?? "eth0", "br0"))], this.ns(HUB));
    } else if (this.link === "pair") {
      const [x, y] = hosts as [NetnsHost, NetnsHost];
      // (the index goes on the first end: iproute2 ignores one given for the peer)
      batch([`link add ${x.dev ?? "eth0"} netns ${this.ns(x.name)} index ${this.nextIndex++} type veth peer name ${y.dev ?? "eth0"} netns ${this.ns(y.name)}`]);
    }
    for (const h of hosts) {
      const dev = h.dev ?? "eth0";
      const up = this.link === "none" ? [] : [...(h.mac ? [`link set ${dev} address ${h.mac}`] : []), `link set ${dev} up`, ...(h.addr ? [`addr add ${h.addr} dev ${dev}`] : [])];
      batch(["link set lo up", ...up], this.ns(h.name));
    }
  }

  /** The veth from host's dev to its hub port, the port numbered by us (FIRST_OWN_INDEX). */
  private hubVeth(host: string, dev: string): string {
    return `link add ${this.port(host, dev)} netns ${this.ns(HUB)} index ${this.nextIndex++} type veth peer name ${dev} netns ${this.ns(host)}`;
  }

  private plug(host: string, dev: string, bridge: string): string[] {
    const port = this.port(host, dev);
    return [`link set ${port} master ${bridge}`, `link set ${port} up`];
  }

  /** A second bridge in the hub and a device on it for each host listed (link "bridge" only). */
  addSegment(s: NetnsSegment): void {
    if (this.link !== "bridge") throw new LvsctlError("LAB_NETNS", `netns: a segment needs link "bridge", this lab has "${this.link}"`);
    const hosts = Object.keys(s.addrs);
    for (const h of hosts) this.ns(h);
    batch(hosts.map((h) => this.hubVeth(h, s.dev)));
    batch([`link add ${s.bridge} type bridge`, `link set ${s.bridge} up`, ...hosts.flatMap((h) => this.plug(h, s.dev, s.bridge))], this.ns(HUB));
    for (const h of hosts) {
      batch([`link set ${s.dev} up`, `addr add ${s.addrs[h]} dev ${s.dev}`], this.ns(h));
    }
  }

  /** The namespace's name (for `ip netns exec`, `ip -n`); "hub" is the hub's. */
  ns(name: string): string {
    if (!this.names.includes(name)) throw new LvsctlError("LAB_NETNS", `netns: no namespace "${name}" in ${this.tag} (has ${this.names.join(", ")})`);
    return `${this.tag}-${name}`;
  }

  /** The namespace's file, for APIs that setns(2) into it. */
  path(name: string): string {
    return `${NETNS_DIR}/${this.ns(name)}`;
  }

  /** The hub's port facing host's dev: where its cable is pulled. */
  port(host: string, dev = "eth0"): string {
    return `${host}-${dev}`;
  }

  /** `ip -n NS ARGS`; throws when it fails. */
  ip(name: string, ...args: string[]): string {
    const argv = ["ip", "-n", this.ns(name), ...args];
    const r = spawnIp(argv);
    if (r.code !== 0) throw failed(argv.join(" "), r);
    return r.stdout;
  }

  /** argv run inside the namespace (`ip netns exec`); never throws for a non-zero exit. */
  exec(name: string, argv: readonly string[], opts: NetnsExecOptions = {}): RunResult {
    return spawnIp(["ip", "netns", "exec", this.ns(name), ...argv], opts);
  }

  /** Like exec(), but a non-zero exit throws; returns stdout. */
  execOk(name: string, argv: readonly string[], opts: NetnsExecOptions = {}): string {
    const r = this.exec(name, argv, opts);
    if (r.code !== 0) throw failed(`ip netns exec ${this.ns(name)} ${argv.join(" ")}`, r);
    return r.stdout;
  }

  /** The host's cable at the switch (its hub port down): it loses carrier, the others hear nothing from it. */
  cable(host: string, up: boolean, dev = "eth0"): void {
    this.ip(HUB, "link", "set", this.port(host, dev), up ? "up" : "down");
  }

  /** Bridge port isolation: isolated ports stop hearing each other while every link stays up. */
  isolate(host: string, on: boolean, dev = "eth0"): void {
    this.execOk(HUB, ["bridge", "link", "set", "dev", this.port(host, dev), "isolated", on ? "on" : "off"]);
  }

  /** Whether ADDR (no prefix) is on the host's dev, from `ip -o addr`. */
  hasAddr(host: string, addr: string, dev = "eth0"): boolean {
    return this.ip(host, "-4", "-o", "addr", "show", "dev", dev).includes(` ${addr}/`);
  }

  /** Deletes every namespace of the lab; safe twice. Processes still inside keep theirs alive until they exit. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    if (live.size === 0) process.off("exit", onExit);
    const mine = listNetns().filter((n) => n.startsWith(`${this.tag}-`));
    if (mine.length > 0) spawnIp(["ip", "-force", "-batch", "-"], { input: mine.map((n) => `netns del ${n}`).join("\n") + "\n" });
  }
}
