// The IPVS table a director should hold by the inventory, the one `ipvsadm -Sn` says it holds, and
// what differs between the two. Pure: tested on ipvsadm's own output (test/fixtures/roll/).
//
// `ipvsadm -Sn` (ipvsadm(8), "--save" with numeric addresses) prints one rule per line, as the
// arguments that would add it:
//   -A -t 10.0.0.100:80 -s wrr -p 300 -M 255.255.255.0     a service (-t TCP, -u UDP, --sctp-service SCTP, -f fwmark; -6 for an IPv6 fwmark)
//   -a -t 10.0.0.100:80 -r 10.0.0.21:80 -g -w 2            a destination (-g DR, -m NAT, -i TUN; -x/-y thresholds)
// IPv6 addresses are written in brackets: -t [2001:db8::1]:80.
import { isIP } from "node:net";
import type { Cluster, ResolvedService } from "../inventory/model.js";

export type Forward = "DR" | "NAT" | "TUN";

export interface IpvsDest {
  /** `ADDR:PORT` in ipvsadm's numeric form (IPv6 bracketed, lower case, compressed). */
  key: string;
  forward: Forward;
  weight: number;
}

export interface IpvsService {
  /** `TCP ADDR:PORT`, `UDP ADDR:PORT`, `SCTP ADDR:PORT` or `FWM N` (`FWM6 N` for IPv6). */
  key: string;
  scheduler: string;
  /** Seconds; undefined when not persistent. */
  persistence?: number;
  /** The persistence netmask, when ipvsadm shows one (not the whole address). */
  netmask?: string;
  dests: IpvsDest[];
}

export type IpvsTable = IpvsService[];

/** An address as ipvsadm prints it: IPv6 compressed, lower case (WHATWG URL host serialisation is RFC 5952's). */
export function canonicalAddress(address: string): string {
  const a = address.replace(/^\[|\]$/g, "");
  if (isIP(a) !== 6) return a;
  return new URL(`http://[${a}]/`).hostname.replace(/^\[|\]$/g, "");
}

/** `ADDR:PORT` as ipvsadm prints it (IPv6 bracketed). */
export function endpoint(address: string, port: number): string {
  const a = canonicalAddress(address);
  return isIP(a) === 6 ? `[${a}]:${port}` : `${a}:${port}`;
}

/** `ipvsadm -Sn` output -> the table. Lines it does not know are returned in `unknown` (never silently dropped). */
export function parseIpvsadmSave(text: string): { table: IpvsTable; unknown: string[] } {
  const services = new Map<string, IpvsService>();
  const unknown: string[] = [];
  const normEndpoint = (ep: string): string => {
    const m = /^\[(.+)\]:(\d+)$/.exec(ep) ?? /^([^:]+):(\d+)$/.exec(ep);
    return m ? endpoint(m[1]!, Number(m[2])) : ep;
  };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const w = line.split(/\s+/);
    const opt = (flag: string): string | undefined => {
      const i = w.indexOf(flag);
      return i >= 0 ? w[i + 1] : undefined;
    };
    const six = w.includes("-6");
    const svcKey = w.includes("-t") ? `TCP ${normEndpoint(opt("-t")!)}` : w.includes("-u") ? `UDP ${normEndpoint(opt("-u")!)}` : w.includes("--sctp-service") ? `SCTP ${normEndpoint(opt("--sctp-service")!)}` : w.includes("-f") ? `FWM${six ? "6" : ""} ${opt("-f")}` : undefined;
    if (w[0] === "-A" && svcKey) {
      const s: IpvsService = { key: svcKey, scheduler: opt("-s") ?? "wlc", dests: [] };
      if (w.includes("-p")) s.persistence = Number(opt("-p"));
      const mask = opt("-M");
      if (mask !== undefined) s.netmask = mask;
      services.set(svcKey, s);
    } else if (w[0] === "-a" && svcKey && w.includes("-r")) {
      const s = services.get(svcKey);
      if (!s) {
        unknown.push(line);
        continue;
      }
      const forward: Forward = w.includes("-m") ? "NAT" : w.includes("-i") ? "TUN" : "DR";
      s.dests.push({ key: normEndpoint(opt("-r")!), forward, weight: Number(opt("-w") ?? "1") });
    } else unknown.push(line);
  }
  return { table: [...services.values()], unknown };
}

/** A service's key as ipvsadm's table names it. */
export function serviceKey(s: ResolvedService): string {
  if (s.fwmark !== undefined) {
    const v6 = [...s.realServers.map((r) => r.address), s.sorryServer?.address ?? ""].some((a) => isIP(a) === 6);
    return `FWM${v6 ? "6" : ""} ${s.fwmark}`;
  }
  return `${s.protocol} ${endpoint(s.vip!, s.port!)}`;
}

/**
 * The table keepalived builds from the inventory while every real server passes its check: each
 * service with its scheduler and persistence, each real server with its weight and the service's
 * forwarding method. (A sorry server is in the table only while every real server is down, so it
 * is not expected here.)
 */
export function expectedIpvs(cluster: Cluster): IpvsTable {
  return cluster.services.map((s) => {
    const out: IpvsService = {
      key: serviceKey(s),
      scheduler: s.lbAlgo,
      dests: s.realServers.map((r) => ({ key: endpoint(r.address, r.port), forward: s.lbKind, weight: r.weight })),
    };
    if (s.persistenceTimeout !== undefined) out.persistence = s.persistenceTimeout;
    const mask = s.persistenceGranularity === undefined ? undefined : String(s.persistenceGranularity);
    if (mask !== undefined && mask !== "255.255.255.255" && mask !== "128") out.netmask = mask;
    return out;
  });
}

export type IpvsDiffKind = "service-missing" | "service-extra" | "scheduler" | "persistence" | "netmask" | "dest-missing" | "dest-extra" | "forward" | "weight";

/** One difference between the inventory's table and a host's. */
export interface IpvsDiff {
  kind: IpvsDiffKind;
  /** The service's key. */
  service: string;
  /** The real server's key, for the dest-* kinds, forward and weight. */
  dest?: string;
  /** weight: the host's weight (0 after keepalived's inhibit_on_failure). */
  actualWeight?: number;
  /** One sentence. */
  text: string;
}

/**
 * What differs, in the expected table's order; [] when the host holds exactly what the inventory
 * says. A real server with weight 0 where a positive weight is expected is reported as such
 * (keepalived's inhibit_on_failure after a failed check).
 */
export function diffIpvs(expected: IpvsTable, actual: IpvsTable): IpvsDiff[] {
  const out: IpvsDiff[] = [];
  const have = new Map(actual.map((s) => [s.key, s]));
  for (const e of expected) {
    const service = e.key;
    const a = have.get(e.key);
    if (!a) {
      out.push({ kind: "service-missing", service, text: `service ${e.key} is missing` });
      continue;
    }
    have.delete(e.key);
    if (a.scheduler !== e.scheduler) out.push({ kind: "scheduler", service, text: `service ${e.key}: scheduler ${a.scheduler}, the inventory says ${e.scheduler}` });
    if (a.persistence !== e.persistence) out.push({ kind: "persistence", service, text: `service ${e.key}: persistence ${a.persistence ?? "off"}, the inventory says ${e.persistence ?? "off"}` });
    if (e.netmask !== undefined && a.netmask !== e.netmask) out.push({ kind: "netmask", service, text: `service ${e.key}: persistence netmask ${a.netmask ?? "none"}, the inventory says ${e.netmask}` });
    const dests = new Map(a.dests.map((d) => [d.key, d]));
    for (const ed of e.dests) {
      const ad = dests.get(ed.key);
      if (!ad) {
        out.push({ kind: "dest-missing", service, dest: ed.key, text: `service ${e.key}: real server ${ed.key} is missing (its check failing?)` });
        continue;
      }
      dests.delete(ed.key);
      if (ad.forward !== ed.forward) out.push({ kind: "forward", service, dest: ed.key, text: `service ${e.key}: real server ${ed.key} forwarded by ${ad.forward}, the inventory says ${ed.forward}` });
      if (ad.weight !== ed.weight) out.push({ kind: "weight", service, dest: ed.key, actualWeight: ad.weight, text: `service ${e.key}: real server ${ed.key} has weight ${ad.weight}, the inventory says ${ed.weight}${ad.weight === 0 ? " (inhibited after a failed check?)" : ""}` });
    }
    for (const d of dests.values()) out.push({ kind: "dest-extra", service, dest: d.key, text: `service ${e.key}: real server ${d.key} is not in the inventory` });
  }
  for (const a of have.values()) out.push({ kind: "service-extra", service: a.key, text: `service ${a.key} is not in the inventory` });
  return out;
}

/** diffIpvs, one sentence each. */
export function compareIpvs(expected: IpvsTable, actual: IpvsTable): string[] {
  return diffIpvs(expected, actual).map((d) => d.text);
}
