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
}
