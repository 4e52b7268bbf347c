// Which half of the director starts first: the VRRP engine, or the first IPVS pass.
//
// A VIP with no IPVS service behind it is a local address with nothing listening: a client's SYN
// gets a RST ("connection refused"). keepalived programs its table before its VRRP side claims
// anything; lvsd runs the two in parallel (VRRP in its worker, IPVS on the main thread), so on a
// start where the table is not there yet (a first start, or after keepalived's stop deleted its
// services) a preempting lvsd could take the VIPs before its first pass has written the services.
// The NAT lab's switch to lvsd saw it: 2 of 230 requests refused while lb1 switched, and in a later
// run the table was written only 100 ms before lb1 became master.
//
// So the engine waits for the first IPVS pass, bounded, except on a crash restart that adopts its
// VIPs: there the table is still in the kernel and the adoption advert must go out at once (a
// late advert lets the backup take over: runtime/adopt.ts).

import type { LvsdConfig } from "../config.js";

/** Whether this config needs the kernel's IPVS at all (a VRRP-only director does not). */
export function needsIpvs(c: Pick<LvsdConfig, "services" | "lvsSyncDaemon">): boolean {
  return c.services.length > 0 || c.lvsSyncDaemon !== undefined;
}

/** How long the engine waits for the first IPVS pass before starting anyway (logged). */
export const FIRST_PASS_BOUND_MS = 10_000;

export type StartOrder =
  | { engine: "now"; why: string }
  | { engine: "after-first-pass"; boundMs: number; why: string };

export interface StartFacts {
  /** The config has IPVS services (or a sync daemon) for the director to program. */
  needsIpvs: boolean;
  /** What the adoption check found: instances adopting VIPs already on the interface, none, or
   * unknown (the kernel could not be read; the engine then fails and says why). */
  adoption: "adopting" | "none" | "unknown";
}

export function startOrder(f: StartFacts, boundMs = FIRST_PASS_BOUND_MS): StartOrder {
  if (f.adoption === "adopting") return { engine: "now", why: "VIPs adopted: the table is in the kernel and the adoption advert must not wait" };
  if (!f.needsIpvs) return { engine: "now", why: "no IPVS services to program" };
  if (f.adoption === "unknown") return { engine: "now", why: "the adoption check failed; the engine reports the cause" };
  return { engine: "after-first-pass", boundMs, why: "no VIP is claimed before its IPVS services are in the kernel" };
}
