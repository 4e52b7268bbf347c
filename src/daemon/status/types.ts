// What GET /status returns (and what /metrics is rendered from). Plain data: it crosses the
// worker boundary by structured clone.

export interface InstanceStatus {
  name: string;
  vrid: number;
  interface: string;
  version: 2 | 3;
  state: "INIT" | "BACKUP" | "MASTER" | "FAULT" | "STOPPED";
  priority: number;
  advertIntervalMs: number;
  /** The current master's address: ours when MASTER, the last accepted one when BACKUP. */
  masterAddress: string | null;
  primaryIp: string;
  transitions: number;
  lastTransition: { at: string; from: string; to: string; reason: string } | null;
  advertsSent: number;
  advertsReceived: number;
  rejected: Record<string, number>;
  vips: string[];
  vipsRestored: number;
  /** Adverts from a lower-priority master (each counted; logged at a limited rate). */
  lowerPriorityAdverts: number;
  syncGroup: string | null;
}

export interface StatusSnapshot {
  routerId: string;
  pid: number;
  startedAt: string;
  uptimeSec: number;
  instances: InstanceStatus[];
  syncGroups: Array<{ name: string; members: string[]; state: string | null }>;
  /** Packets refused before they could be matched to an instance (wire checks, unknown VRID). */
  rejected: Record<string, number>;
  /** The IPVS table lvsd keeps (absent when the config has no service and no sync daemon). */
  ipvs?: IpvsStatus;
}

/** Packet, byte and connection counters since the entry was created (IPVS STATS64). */
export interface IpvsCounters {
  conns: number;
  inpkts: number;
  outpkts: number;
  inbytes: number;
  outbytes: number;
}

export interface RealServerStatus {
  /** "TCP 10.0.0.100:80 -> 10.0.0.21:80" (core/health.ts realServerId). */
  id: string;
  address: string;
  port: number;
  /** The sorry server of its service. */
  sorry: boolean;
  /** Health from the checks' scheduler; `checked: false` when no check runs for it. */
  health: { up: boolean; checked: boolean; lastResult?: string; reason?: string; since?: string };
  /** The weight lvsd wants in the table (null: lvsd wants it out of the table). */
  wantedWeight: number | null;
  /** What the kernel has (null: not in the kernel's table). */
  weight: number | null;
  activeConns: number;
  inactConns: number;
  counters: IpvsCounters | null;
}

export interface ServiceStatus {
  /** "TCP 10.0.0.100:80", "FWM 1" (table.ts serviceKeyText). */
  id: string;
  name: string;
  scheduler: string;
  inKernel: boolean;
  quorum: boolean;
  liveWeight: number;
  sorryServerActive: boolean;
  counters: IpvsCounters | null;
  realServers: RealServerStatus[];
}

export interface IpvsStatus {
  /** False while the kernel's IPVS could not be opened (error says why). */
  available: boolean;
  error: string | null;
  lastPass: { at: string; reason: string; ok: boolean; ops: number; failed: number; repaired: number; dumpMs: number; writeMs: number; totalMs: number } | null;
  passes: number;
  writes: number;
  writeErrors: number;
  repairs: number;
  dumpErrors: number;
  syncDaemon: { wanted: { role: string; interface: string; syncId: number } | null; writes: number } | null;
  services: ServiceStatus[];
}
