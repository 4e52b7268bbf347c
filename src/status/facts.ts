// The facts status reads that the roll does not: connection counts from `ipvsadm -Ln`, and a real
// server's lo addresses and ARP sysctls. Each is a fixed command and a pure parser (STYLE.md:
// a fact is a command plus a parser), tested on the tools' own output.
import { shellCode, type Command } from "../command/index.js";
import { canonicalAddress } from "../roll/index.js";

/** Active and inactive connections per real server, keyed `SERVICE|DEST` (the keys of src/roll/ipvs-table.ts). */
export type ConnCounts = Map<string, { active: number; inactive: number }>;

function endpoint(ep: string): string {
  const m = /^\[(.+)\]:(\d+)$/.exec(ep) ?? /^([^:]+):(\d+)$/.exec(ep);
  if (!m) return ep;
  const a = canonicalAddress(m[1]!);
  return a.includes(":") ? `[${a}]:${m[2]}` : `${a}:${m[2]}`;
}

/**
 * `ipvsadm -Ln` (ipvsadm(8) list, numeric) -> connection counts. Its shape:
 *   TCP  10.0.0.100:80 wlc persistent 300
 *     -> 10.0.0.21:80                 Route   1      3          12
 *   FWM  1 rr            (an IPv6 fwmark service: FWM  1 IPv6 rr)
 * Header lines and anything else are skipped (the table itself comes from `ipvsadm -Sn`).
 */
export function parseIpvsadmList(text: string): ConnCounts {
  const out: ConnCounts = new Map();
  let service: string | undefined;
  for (const line of text.split("\n")) {
    const svc = /^(TCP|UDP)\s+(\S+)\s/.exec(line + " ");
    const fwm = /^FWM\s+(\d+)(\s+IPv6)?\s/.exec(line + " ");
    const dest = /^\s+->\s+(\S+)\s+\S+\s+(-?\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (svc) service = `${svc[1]} ${endpoint(svc[2]!)}`;
    else if (fwm) service = `FWM${fwm[2] ? "6" : ""} ${fwm[1]}`;
    else if (dest && service) out.set(`${service}|${endpoint(dest[1]!)}`, { active: Number(dest[3]), inactive: Number(dest[4]) });
  }
  return out;
}

const RS_MARK = "@@lvsctl-status";
/** One round trip per real server: its lo addresses, then every interface's ARP sysctls (`path:value` lines). */
export const REALSERVER_PROBE: Command = shellCode(
  `ip -j addr show dev lo; echo ${RS_MARK}; grep -H . /proc/sys/net/ipv4/conf/*/arp_ignore /proc/sys/net/ipv4/conf/*/arp_announce 2>/dev/null; true`,
);

export interface RealServerFacts {
  /** Addresses on lo, canonical. */
  lo: Set<string>;
  /** interface -> value; `all` among them. */
  arpIgnore: Record<string, number>;
  arpAnnounce: Record<string, number>;
}

/** REALSERVER_PROBE's output -> facts. Throws when the addresses are not ip's JSON. */
export function parseRealServerProbe(stdout: string): RealServerFacts {
  const [addrs = "", sysctls = ""] = stdout.split(`${RS_MARK}\n`);
  const links = JSON.parse(addrs) as { addr_info?: { local?: string }[] }[];
  const lo = new Set<string>();
  for (const l of Array.isArray(links) ? links : []) for (const a of l.addr_info ?? []) if (a.local) lo.add(canonicalAddress(a.local));
  const arpIgnore: Record<string, number> = {};
  const arpAnnounce: Record<string, number> = {};
  for (const line of sysctls.split("\n")) {
    const m = /^\/proc\/sys\/net\/ipv4\/conf\/([^/]+)\/(arp_ignore|arp_announce):(\d+)$/.exec(line.trim());
    if (m) (m[2] === "arp_ignore" ? arpIgnore : arpAnnounce)[m[1]!] = Number(m[3]);
  }
  return { lo, arpIgnore, arpAnnounce };
}

/**
 * What an IPv4 DR/TUN real server lacks of the ARP settings (kernel ip-sysctl.rst: arp_ignore=1
 * answers only for addresses of the interface asked on; arp_announce=2 never uses the VIP as
 * source; the kernel applies the larger of `all` and the interface's value). `all` at the value
 * covers every interface, which is what `lvsctl bootstrap` sets; else each interface but lo must.
 */
export function arpMissing(f: RealServerFacts): string[] {
  const out: string[] = [];
  for (const [name, want, vals] of [["arp_ignore", 1, f.arpIgnore], ["arp_announce", 2, f.arpAnnounce]] as const) {
    const all = vals.all;
    if (all === undefined) {
      out.push(`${name}=${want} (not readable)`);
      continue;
    }
    if (all >= want) continue;
    const low = Object.entries(vals).filter(([i, v]) => i !== "all" && i !== "default" && i !== "lo" && Math.max(v, all) < want).map(([i]) => i);
    if (low.length) out.push(`${name}=${want} (all is ${all}, ${low.join(", ")} below too)`);
  }
  return out;
}
