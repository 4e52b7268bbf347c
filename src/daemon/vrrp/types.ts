// Domain types of the VRRP engine: what the state machine needs to know about an instance, what
// it receives (an advert already decoded and checked against the wire rules) and what it asks
// the outside world to do. Wire types live in packet.ts; runtime/ converts between the two.

/** A virtual address as the instance owns it. `dev` defaults to the instance's interface. */
export interface VipSpec {
  address: string; // dotted IPv4
  prefix: number; // 0-32
  dev?: string;
  label?: string; // rtnetlink IFA_LABEL, at most 15 chars
}

export function vipKey(v: VipSpec, defaultDev: string): string {
  return `${v.address}/${v.prefix}@${v.dev ?? defaultDev}`;
}

/** Gratuitous ARP on becoming master. Defaults are keepalived's (keepalived.conf(5) garp_*). */
export interface GarpConfig {
  /** Sent at once on becoming master (keepalived garp_master_repeat, default 5). */
  initialCount: number;
  /** Sent again after `repeatDelayMs` (keepalived garp_master_delay 5 s, same repeat count). */
  repeatCount: number;
  repeatDelayMs: number;
  /** Sent when a master hears a lower-priority master (keepalived garp_lower_prio_repeat). */
  lowerPrioCount: number;
  /** Periodic re-announcement while master (keepalived garp_master_refresh, default 0 = off;
   * garp_master_refresh_repeat, default 1). */
  refreshMs?: number;
  refreshCount?: number;
}

export const GARP_DEFAULTS: GarpConfig = {
  initialCount: 5,
  repeatCount: 5,
  repeatDelayMs: 5000,
  lowerPrioCount: 5,
};

/** Everything the pure state machine needs to know about one instance. */
export interface VrrpParams {
  name: string;
  vrid: number;
  interface: string;
  /** 1-255 as configured; 255 is the address owner (RFC 3768 §5.3.4). */
  priority: number;
  version: 2 | 3;
  /** Configured advert interval (v2: whole seconds, v3: centiseconds; here in ms). */
  advertIntervalMs: number;
  /** keepalived `state`: only the initial wish. */
  initialState: "MASTER" | "BACKUP";
  /** keepalived `nopreempt` (needs initial state BACKUP). */
  nopreempt: boolean;
  /** keepalived `preempt_delay`, ms; 0 = off. */
  preemptDelayMs: number;
  /** Our primary address on the interface, the advert's source; breaks priority ties. */
  primaryIp: string;
  vips: readonly VipSpec[];
  /** Interfaces whose link must be up (`track_interface`); the instance's own is always tracked. */
  trackInterfaces: readonly string[];
  garp: GarpConfig;
}

/** An advert that passed the wire checks (TTL, checksum, auth, VRID, version, interval). */
export interface ReceivedAdvert {
  priority: number;
  source: string; // dotted IPv4 of the sender (primary IP of the master)
  version: 2 | 3;
  /** Advertised interval in ms (v3: Max Adver Int; v2: seconds * 1000). */
  intervalMs: number;
}

/** Compare dotted IPv4 addresses numerically: <0 when a<b. */
export function compareIPv4(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 4; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
