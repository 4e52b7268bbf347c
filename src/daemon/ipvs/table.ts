// The IPVS table as the reconciler compares it: one comparable form for what lvsd wants and for
// what the kernel's dump says, so "equal" means "nothing to write". Pure.
//
// Layering (keepalived's ipvswrapper / ipwrapper split): netlink/ipvs.ts is the raw codec,
// client.ts the raw client (one socket, one request per operation), this file and reconcile.ts
// the domain-to-rule layer, policy.ts the policy (health, inhibit, quorum, sorry server).
import {
  canonicalIpvsAddress,
  canonicalServiceKey,
  FWD_METHODS,
  IP_VS_CONN_F_TUNNEL,
  IPVS_DEFAULT_NETMASK,
  serviceKeyFamily,
  type DestSpec,
  type FwdMethod,
  type IpvsDest,
  type IpvsService,
  type ServiceKey,
  type ServiceSpec,
} from "../netlink/ipvs.js";

/** A virtual service's settings, every default filled in (the key in the decoders' form). */
export interface ServiceRule {
  key: ServiceKey;
  scheduler: string;
  /** The settable IP_VS_SVC_F_* bits. */
  flags: number;
  /** Persistence timeout (s), 0: none. */
  timeout: number;
  /** IPv4: the mask as a number; IPv6: a prefix length (ServiceSpec). */
  netmask: number;
}

/** A real server (IPVS destination), every default filled in. */
export interface DestRule {
  address: string;
  port: number;
  /** IP_VS_CONN_F_* forwarding method (MASQ 0, TUNNEL 2, DROUTE 3). */
  fwd: number;
  weight: number;
  uThresh: number;
  lThresh: number;
  /** Only meaningful for TUNNEL; 0 otherwise (the kernel reports 0 for every other method). */
  tunType: number;
  tunPort: number;
  /** IP_VS_TUNNEL_ENCAP_FLAG_* (checksum), TUNNEL only. */
  tunFlags: number;
}

export interface TableEntry {
  service: ServiceRule;
  dests: DestRule[];
}

/** "TCP 10.0.0.1:80", "UDP [fd00::1]:53", "FWM 7", "FWM 7 IPv6": ipvsadm's words, the identity a
 * service keeps across reloads (logs, status labels, health ids). */
export function serviceKeyText(k: ServiceKey): string {
  const c = canonicalServiceKey(k);
  if ("fwmark" in c) return `FWM ${c.fwmark}${c.family === "inet6" ? " IPv6" : ""}`;
  const proto = c.protocol === 6 ? "TCP" : c.protocol === 17 ? "UDP" : c.protocol === 132 ? "SCTP" : `proto-${c.protocol}`;
  return `${proto} ${hostPort(c.address, c.port)}`;
}

export function hostPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

export function destKeyText(d: { address: string; port: number }): string {
  return hostPort(canonicalIpvsAddress(d.address), d.port);
}

export function fwdName(fwd: number): FwdMethod | undefined {
  return (Object.keys(FWD_METHODS) as FwdMethod[]).find((k) => FWD_METHODS[k] === fwd);
}

/** A wanted service (codec spec) in comparable form. */
export function serviceRule(s: ServiceSpec): ServiceRule {
  return {
    key: canonicalServiceKey(s.key),
    scheduler: s.scheduler,
    flags: s.flags ?? 0,
    timeout: s.timeout ?? 0,
    netmask: s.netmask ?? IPVS_DEFAULT_NETMASK[serviceKeyFamily(s.key)],
  };
}

export function destRule(d: DestSpec): DestRule {
  const fwd = FWD_METHODS[d.fwd];
  const tun = fwd === IP_VS_CONN_F_TUNNEL;
  return {
    address: canonicalIpvsAddress(d.address),
    port: d.port,
    fwd,
    weight: d.weight,
    uThresh: d.uThresh ?? 0,
    lThresh: d.lThresh ?? 0,
    tunType: tun ? (d.tunType ?? 0) : 0,
    tunPort: tun ? (d.tunPort ?? 0) : 0,
    tunFlags: tun ? (d.tunFlags ?? 0) : 0,
  };
}

/** A decoded dump entry in comparable form (counters dropped). */
export function actualServiceRule(s: IpvsService): ServiceRule {
  return { key: s.key, scheduler: s.scheduler, flags: s.flags, timeout: s.timeout, netmask: s.netmask };
}

export function actualDestRule(d: IpvsDest): DestRule {
  const tun = d.fwd === IP_VS_CONN_F_TUNNEL;
  return {
    address: d.address,
    port: d.port,
    fwd: d.fwd,
    weight: d.weight,
    uThresh: d.uThresh,
    lThresh: d.lThresh,
    tunType: tun ? (d.tunType ?? 0) : 0,
    tunPort: tun ? (d.tunPort ?? 0) : 0,
    tunFlags: tun ? (d.tunFlags ?? 0) : 0,
  };
}

/** Back to what the encoders take. A method lvsd never sets (LOCALNODE, BYPASS) cannot be wanted. */
export function toServiceSpec(r: ServiceRule): ServiceSpec {
  return { key: r.key, scheduler: r.scheduler, flags: r.flags, timeout: r.timeout, netmask: r.netmask };
}

export function toDestSpec(r: DestRule): DestSpec {
  const fwd = fwdName(r.fwd);
  if (!fwd) throw new RangeError(`forwarding method ${r.fwd} is not one lvsd sets`);
  const d: DestSpec = { address: r.address, port: r.port, fwd, weight: r.weight, uThresh: r.uThresh, lThresh: r.lThresh };
  if (r.fwd === IP_VS_CONN_F_TUNNEL) {
    d.tunType = r.tunType;
    if (r.tunPort !== 0) d.tunPort = r.tunPort;
    // only when set: a kernel before 5.3 has no TUN_FLAGS, and nocsum is its default anyway
    if (r.tunFlags !== 0) d.tunFlags = r.tunFlags;
  }
  return d;
}

export function sameService(a: ServiceRule, b: ServiceRule): boolean {
  return a.scheduler === b.scheduler && a.flags === b.flags && a.timeout === b.timeout && a.netmask === b.netmask;
}

export function sameDest(a: DestRule, b: DestRule): boolean {
  return a.fwd === b.fwd && a.weight === b.weight && a.uThresh === b.uThresh && a.lThresh === b.lThresh && a.tunType === b.tunType && a.tunPort === b.tunPort && a.tunFlags === b.tunFlags;
}
