// Which director is master of which VRRP instance, asked from the hosts: the master of an
// instance is the director that holds its virtual addresses (RFC 5798 6.4.3: a master owns the
// virtual IPs; a backup "MUST NOT" answer for them), which `ip -j addr show` says without asking
// the daemon. Pure: the parser and the judgement are tested on fixtures.
import type { Cluster, DirectorVrrpInstance } from "../inventory/model.js";
import { canonicalAddress } from "./ipvs-table.js";

export type VrrpRole = "MASTER" | "BACKUP" | "PARTIAL";

interface IpJsonLink {
  ifname?: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

/** `ip -j addr show` -> "ADDR dev" strings (addresses canonical). Throws on text that is not ip's JSON. */
export function parseIpAddrJson(text: string): Set<string> {
  const links = JSON.parse(text) as IpJsonLink[];
  if (!Array.isArray(links)) throw new Error("ip -j addr show did not print a JSON list");
  const out = new Set<string>();
  for (const l of links) for (const a of l.addr_info ?? []) if (a.local && l.ifname) out.add(`${canonicalAddress(a.local)} ${l.ifname}`);
  return out;
}

/** An instance's role on one director from the addresses it holds: all VIPs MASTER, none BACKUP (or FAULT, or stopped), some PARTIAL. */
export function instanceRole(instance: DirectorVrrpInstance, held: Set<string>): VrrpRole {
  const n = instance.vips.filter((v) => held.has(`${canonicalAddress(v.address)} ${v.dev ?? instance.interface}`)).length;
  return n === 0 ? "BACKUP" : n === instance.vips.length ? "MASTER" : "PARTIAL";
}

/** What one director says, as the gate sees it. */
export interface DirectorView {
  director: string;
  /** The roll's daemon (its unit: keepalived or lvsd) active. */
  active: boolean;
  /** Every VRRP daemon active on it (keepalived, lvsd); absent: only `active` is known. */
  daemons?: readonly string[];
  /** instance name -> role; absent when the director could not be asked. */
  roles: Record<string, VrrpRole>;
  /** Why the director could not be asked (unreachable, a command failed). */
  error?: string;
}

/** Directors that hold an instance's VIPs now, by instance name. */
export function mastersNow(views: DirectorView[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const v of views) for (const [inst, role] of Object.entries(v.roles)) if (role === "MASTER") (out[inst] ??= []).push(v.director);
  return out;
}

/**
 * The role VRRP gives `director` in `instance` when the directors in `running` run the daemon:
 * with preemption, MASTER exactly when it has the highest priority among them (RFC 5798 6.4.3);
 * undefined with nopreempt, where either role is right as long as there is one master.
 */
export function expectedRole(cluster: Cluster, director: string, instance: DirectorVrrpInstance, running: Set<string>): { want: "MASTER" | "BACKUP"; top: { name: string; prio: number } } | undefined {
  if (instance.nopreempt) return undefined;
  const peers = cluster.directors.filter((x) => running.has(x.host.name)).map((x) => ({ name: x.host.name, prio: x.instances.find((i) => i.name === instance.name)?.priority ?? -1 }));
  const top = peers.reduce((a, b) => (b.prio > a.prio ? b : a), { name: "", prio: -1 });
  return { want: top.name === director ? "MASTER" : "BACKUP", top };
}

/**
 * The cluster's VRRP health after `director` was deployed, one sentence per problem ([] = fit):
 * `daemon` active on it, and no other VRRP daemon beside it; exactly one master per instance
 * across the cluster and no director holding part of an instance's VIPs; and its own role as
 * VRRP would give it: with preemption, the master of an instance is the director with the
 * highest priority among those running a VRRP daemon (keepalived and lvsd speak the same
 * protocol, so a cluster half way through a switch of backend elects as one), so the one just
 * deployed is master exactly when it has that priority; with nopreempt either role is right as
 * long as there is one master.
 */
export function judgeVrrp(cluster: Cluster, director: string, views: DirectorView[], daemon = "keepalived"): string[] {
  const out: string[] = [];
  const mine = views.find((v) => v.director === director);
  for (const v of views) if (v.error) out.push(`cannot ask ${v.director}: ${v.error}`);
  if (!mine || mine.error) return out;
  if (!mine.active) out.push(`${daemon} is not active on ${director}`);
  const others = (mine.daemons ?? []).filter((x) => x !== daemon);
  if (others.length) out.push(`${others.join(" and ")} ${others.length === 1 ? "is" : "are"} active on ${director} beside ${daemon} (one VRRP daemon per director)`);
  const running = new Set(views.filter((v) => (v.active || (v.daemons?.length ?? 0) > 0) && !v.error).map((v) => v.director));
  const d = cluster.directors.find((x) => x.host.name === director);
  for (const inst of d?.instances ?? []) {
    const masters = views.filter((v) => v.roles[inst.name] === "MASTER").map((v) => v.director);
    const partial = views.filter((v) => v.roles[inst.name] === "PARTIAL").map((v) => v.director);
    if (partial.length) out.push(`${inst.name}: ${partial.join(", ")} hold${partial.length === 1 ? "s" : ""} only some of its VIPs`);
    if (masters.length === 0) out.push(`${inst.name}: no director holds its VIPs (no master)`);
    else if (masters.length > 1) out.push(`${inst.name}: ${masters.join(" and ")} both hold its VIPs (two masters)`);
    if (!mine.active) continue;
    const exp = expectedRole(cluster, director, inst, running);
    if (!exp) continue;
    const { want, top } = exp;
    const have = mine.roles[inst.name];
    if (have !== undefined && have !== "PARTIAL" && have !== want) out.push(`${inst.name}: ${director} is ${have}, expected ${want} (priority ${inst.priority}; ${top.name} has the highest priority, ${top.prio}, among the directors running VRRP)`);
  }
  return out;
}
