// What `lvsctl status` knows about a cluster: plain, JSON-safe data (the `--json` shape, schema 1,
// documented in src/status/README.md). Built by collect.ts from what the hosts say, judged by
// judge.ts, drawn by format.ts.
import type { Forward, VrrpRole } from "../roll/index.js";
import type { RollProbe } from "../roll/types.js";
import type { HttpResponse } from "../ssh/http.js";

/** How status asks the hosts: read-only commands, and a GET on a port of a host's loopback through its SSH connection. */
export interface StatusProbe extends RollProbe {
  /** GET http://127.0.0.1:PORT/PATH as seen from the host; throws when the host or the port cannot be reached. */
  httpGet(host: string, port: number, path: string): Promise<HttpResponse>;
}

export type Health = "up" | "down" | "unknown";

export interface RealServerRow {
  /** `ADDR:PORT` as ipvsadm prints it. */
  key: string;
  /** The inventory host, when the real server is one. */
  host?: string;
  /** The service's sorry server (lvsd shows it; keepalived's is in the table only while every real server is down). */
  sorry: boolean;
  inInventory: boolean;
  /** In the director's kernel table. */
  inTable: boolean;
  forward: Forward | null;
  /** The kernel's weight (null: not in the table). */
  weight: number | null;
  /** The inventory's weight (null: not in the inventory). */
  expectedWeight: number | null;
  activeConns: number | null;
  inactConns: number | null;
  health: Health;
  /** Who says so and why, in a few words ("lvsd's HTTP_GET check", "absent from the table: keepalived's check removed it"). */
  healthReason: string;
}

export interface ServiceRow {
  /** `TCP ADDR:PORT`, `UDP ADDR:PORT`, `FWM N` or `FWM6 N` (src/roll/ipvs-table.ts). */
  key: string;
  /** The inventory's name for it, when it has the service. */
  name: string | null;
  scheduler: string | null;
  inInventory: boolean;
  inTable: boolean;
  realServers: RealServerRow[];
}

export interface DirectorInstance {
  name: string;
  /** From the VIPs the director holds (`ip -j addr show`): MASTER holds them all, BACKUP none. */
  role: VrrpRole | null;
  /** lvsd's own state (INIT, BACKUP, MASTER, FAULT, STOPPED); null for keepalived, which is not asked. */
  daemonState: string | null;
  priority: number | null;
  /** keepalived's priority is the inventory's (keepalived is not asked); lvsd's is the one it runs with. */
  prioritySource: "inventory" | "lvsd";
}

export interface DirectorStatus {
  name: string;
  address: string;
  reachable: boolean;
  /** Why it could not be asked (unreachable), or what of it could not be read. */
  error: string | null;
  /** The daemon's unit and `systemctl is-active`'s word for it (null when not asked). */
  daemon: { unit: string; state: string | null; active: boolean };
  instances: DirectorInstance[];
  /** The director's IPVS table beside the inventory's; null when it could not be read. */
  ipvs: ServiceRow[] | null;
  /** How its table differs from the inventory, one sentence each, besides a real server's health (a checker's doing). */
  ipvsDrift: string[];
  /** lvsd only: its process, from its status. */
  lvsd: { pid: number; uptimeSec: number; routerId: string } | null;
}

export interface InstanceStatus {
  name: string;
  vrid: number;
  vips: string[];
  /** The directors holding all of its VIPs now. */
  masters: string[];
}

export interface RealServerHostStatus {
  host: string;
  address: string;
  reachable: boolean;
  error: string | null;
  /** The VIPs it must hold on lo (its DR/TUN services; src/render realServerVips) and whether it does. */
  vips: { address: string; present: boolean }[];
  /** net.ipv4.conf.all.arp_ignore / arp_announce (null: not read). */
  arpIgnore: number | null;
  arpAnnounce: number | null;
  /** What it lacks, one short phrase each ("10.0.0.100 on lo", "arp_ignore=1 (all is 0)"). */
  missing: string[];
}

export type ProblemKind = "unreachable" | "daemon" | "vrrp" | "drift" | "health" | "realserver";

export interface Problem {
  kind: ProblemKind;
  /** The host it is about, when one. */
  host?: string;
  message: string;
}

export interface ClusterStatus {
  /** The shape's version: fields are added, never renamed or removed, within one version. */
  schema: 1;
  inventory: string;
  backend: "keepalived" | "lvsd";
  /** ISO 8601, when the hosts were asked. */
  checkedAt: string;
  instances: InstanceStatus[];
  directors: DirectorStatus[];
  realServers: RealServerHostStatus[];
  problems: Problem[];
  /** No problem at all. */
  healthy: boolean;
}
