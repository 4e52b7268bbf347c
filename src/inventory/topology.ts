// Who is in which group, which directors run which VRRP instance with what priority, and what a
// VIP string means. validate.ts and resolve.ts both ask these questions; answering them in one
// place keeps the checks and the result from drifting apart. Tolerant by design: unknown names
// and cycles are skipped here (validate.ts reports them).
import { isIP } from "node:net";
import { DIRECTORS, REALSERVERS, type Inventory, type Vip, type VrrpInstance } from "./schema.js";

export const ALL = "all";

export interface Topology {
  /** Host names in document order. */
  hosts: string[];
  /** Every group's members, expanded through children; "all" holds every host. */
  members: Map<string, string[]>;
  /** Each host's groups, sorted, including "all". */
  groupsOf: Map<string, string[]>;
  /** Group nesting depth (all = 0, top-level groups 1, their children 2...), for var precedence. */
  depth: Map<string, number>;
  /** The `directors` group's hosts in order: listed hosts, then children, then hosts that name the group. */
  directors: string[];
  realservers: string[];
}

export function buildTopology(inv: Pick<Inventory, "hosts" | "groups">): Topology {
  const hosts = Object.keys(inv.hosts);
  const hostSet = new Set(hosts);
  const groups = inv.groups;
  const members = new Map<string, string[]>();

  // Hosts that name a group in their own `groups:` list.
  const named = new Map<string, string[]>();
  for (const h of hosts) {
    for (const g of inv.hosts[h]?.groups ?? []) {
      if (!named.has(g)) named.set(g, []);
      named.get(g)!.push(h);
    }
  }

  const expand = (g: string, seen: Set<string>): string[] => {
    if (members.has(g)) return members.get(g)!;
    if (seen.has(g)) return []; // a cycle: reported by validate.ts
    seen.add(g);
    const out: string[] = [];
    const inOut = new Set<string>();
    const add = (h: string) => {
      if (hostSet.has(h) && !inOut.has(h)) {
        inOut.add(h);
        out.push(h);
      }
    };
    const def = Object.prototype.hasOwnProperty.call(groups, g) ? groups[g] : undefined;
    for (const h of def?.hosts ?? []) add(h);
    for (const c of def?.children ?? []) for (const h of expand(c, seen)) add(h);
    for (const h of named.get(g) ?? []) add(h);
    seen.delete(g);
    members.set(g, out);
    return out;
  };
  for (const g of new Set([...Object.keys(groups), ...named.keys()])) expand(g, new Set());
  members.set(ALL, [...hosts]);

  const depth = new Map<string, number>([[ALL, 0]]);
  const childOf = new Set(Object.values(groups).flatMap((g) => g.children ?? []));
  const setDepth = (g: string, d: number, seen: Set<string>) => {
    if (seen.has(g)) return;
    if ((depth.get(g) ?? -1) >= d) return;
    depth.set(g, d);
    seen.add(g);
    for (const c of (Object.prototype.hasOwnProperty.call(groups, g) ? groups[g]?.children : undefined) ?? []) setDepth(c, d + 1, seen);
    seen.delete(g);
  };
  for (const g of Object.keys(groups)) if (g !== ALL && !childOf.has(g)) setDepth(g, 1, new Set());
  for (const g of members.keys()) if (!depth.has(g)) depth.set(g, 1);

  const groupsOf = new Map<string, string[]>();
  for (const h of hosts) groupsOf.set(h, []);
  for (const [g, hs] of members) for (const h of hs) groupsOf.get(h)?.push(g);
  for (const [h, gs] of groupsOf) groupsOf.set(h, [...new Set(gs)].sort());

  return {
    hosts,
    members,
    groupsOf,
    depth,
    directors: members.get(DIRECTORS) ?? [],
    realservers: members.get(REALSERVERS) ?? [],
  };
}

// --- VRRP instance membership ----------------------------------------------------------------

/** Default priorities by position among an instance's directors (keepalived's default is 100). */
export function defaultPriority(index: number): number {
  return index === 0 ? 150 : Math.max(1, 101 - index);
}

export interface InstanceMember {
  host: string;
  priority: number;
  prioritySource: "member" | "instance" | "default";
  state: "MASTER" | "BACKUP";
  stateGiven: boolean;
  interface: string;
  /** From members.<host>.unicast_src_ip, the instance's unicast_src_ip (or mcast_src_ip), or the host address (unicast: true). */
  unicastSrcIp?: string;
}

/** RFC 3768 section 5.3.4: priority 255 is the address owner. */
export const VRRP_OWNER_PRIORITY = 255;

/**
 * The directors that run `inst`, in directors-group order, with their priority and initial
 * state. Names in `members` that are not directors are skipped (validate.ts reports them).
 */
export function instanceMembers(inst: VrrpInstance, topo: Topology, hostAddress: (h: string) => string | undefined, opts: { vrrpStrict?: boolean } = {}): InstanceMember[] {
  const listed = inst.members;
  const running = listed ? topo.directors.filter((d) => Object.prototype.hasOwnProperty.call(listed, d)) : topo.directors;
  const members: InstanceMember[] = running.map((host, i) => {
    const m = listed?.[host];
    const priority = m?.priority ?? inst.priority ?? defaultPriority(i);
    const prioritySource = m?.priority !== undefined ? "member" : inst.priority !== undefined ? "instance" : "default";
    const src = m?.unicast_src_ip ?? inst.unicast_src_ip ?? inst.mcast_src_ip ?? (inst.unicast ? hostAddress(host) : undefined);
    return {
      host,
      priority,
      prioritySource,
      state: "BACKUP",
      stateGiven: false,
      interface: m?.interface ?? inst.interface,
      ...(src !== undefined ? { unicastSrcIp: src } : {}),
    };
  });
  // The first director with the highest priority starts as MASTER unless a state is given.
  // Everybody starts BACKUP where keepalived requires it: with nopreempt or a preempt_delay
  // ("will not work with initial state MASTER"), and under vrrp_strict unless the director is
  // the address owner (priority 255: "State MASTER must match being address owner").
  const top = members.reduce<InstanceMember | undefined>((best, m) => (!best || m.priority > best.priority ? m : best), undefined);
  const allBackup = inst.nopreempt || (inst.preempt_delay ?? 0) > 0;
  for (const m of members) {
    const given = listed?.[m.host]?.state ?? inst.state;
    if (given) {
      m.state = given;
      m.stateGiven = true;
    } else {
      m.state = !allBackup && m === top && (!opts.vrrpStrict || m.priority === VRRP_OWNER_PRIORITY) ? "MASTER" : "BACKUP";
    }
  }
  return members;
}

// --- VIPs ------------------------------------------------------------------------------------

export interface ParsedVip {
  address: string;
  family: 4 | 6;
  prefix: number;
  dev?: string;
  label?: string;
}

/**
 * "10.0.0.100", "10.0.0.100/24", "10.0.0.100/24 dev eth0 label eth0:vip" (keepalived's
 * virtual_ipaddress line), or the mapping form. Default prefix /32 or /128.
 */
export function parseVip(v: Vip): ParsedVip | { error: string } {
  if (typeof v !== "string") {
    const family = isIP(v.address);
    if (family !== 4 && family !== 6) return { error: `"${v.address}" is not an IP address` };
    const max = family === 4 ? 32 : 128;
    if (v.prefix !== undefined && v.prefix > max) return { error: `prefix /${v.prefix} is too long for IPv${family} (at most /${max})` };
    return { address: v.address, family, prefix: v.prefix ?? max, ...(v.dev ? { dev: v.dev } : {}), ...(v.label ? { label: v.label } : {}) };
  }
  const words = v.trim().split(/\s+/);
  const [cidr, ...rest] = words;
  if (!cidr) return { error: "empty VIP" };
  const [addr, prefixText, extra] = cidr.split("/");
  if (extra !== undefined || addr === undefined) return { error: `"${cidr}" is not ADDRESS or ADDRESS/PREFIX` };
  const family = isIP(addr);
  if (family !== 4 && family !== 6) return { error: `"${addr}" is not an IP address` };
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return { error: `"/${prefixText}" is not a prefix length for IPv${family} (0-${max})` };
    prefix = Number(prefixText);
  }
  const out: ParsedVip = { address: addr, family, prefix };
  for (let i = 0; i < rest.length; i += 2) {
    const k = rest[i]!;
    const val = rest[i + 1];
    if ((k !== "dev" && k !== "label") || val === undefined) return { error: `unexpected "${rest.slice(i).join(" ")}" (after the address only "dev IFACE" and "label NAME" are understood)` };
    if (k === "dev") {
      if (val.length > 15) return { error: `interface name "${val}" is longer than 15 characters (IFNAMSIZ)` };
      out.dev = val;
    } else {
      if (val.length > 15) return { error: `label "${val}" is longer than 15 characters` };
      out.label = val;
    }
  }
  return out;
}

export function ipFamily(addr: string): 0 | 4 | 6 {
  return isIP(addr) as 0 | 4 | 6;
}

/**
 * A canonical text form, so 2001:db8::1 and 2001:DB8:0::1 compare equal, and an IPv4-mapped
 * IPv6 address (::ffff:10.0.0.1, RFC 4291 section 2.5.5.2) equals the IPv4 address it maps.
 */
export function canonicalIp(addr: string): string {
  if (isIP(addr) !== 6) return addr;
  let out: string;
  try {
    out = new URL(`http://[${addr}]/`).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return addr.toLowerCase();
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(out);
  if (!mapped) return out;
  const hi = parseInt(mapped[1]!, 16);
  const lo = parseInt(mapped[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/**
 * Why a director could never hold `address` (with `prefix`, when given) as a VIP, or undefined:
 * the kernel would refuse it, or no client could reach it (RFC 6890 special-purpose ranges).
 */
export function vipProblem(address: string, prefix?: number): { message: string; hint: string } | undefined {
  const unicast = "use a unicast address of the clients' network, e.g. 192.0.2.100 or 2001:db8::100";
  const family = isIP(address);
  if (family === 6 && address.includes("%")) return { message: "has a zone index (%IFACE), so it is link-local", hint: `a VIP is announced beyond one link: ${unicast}` };
  const canon = canonicalIp(address);
  if (family === 6 && isIP(canon) === 4) return { message: `is an IPv4-mapped IPv6 address (RFC 4291 section 2.5.5.2), the same host as ${canon}`, hint: `write the IPv4 address ${canon} in an IPv4 instance` };
  if (family === 4) {
    const [a, b] = canon.split(".").map(Number) as [number, number];
    if (a === 0) return { message: "is in 0.0.0.0/8, the unspecified address ('this network', RFC 1122 section 3.2.1.3)", hint: unicast };
    if (a === 127) return { message: "is a loopback address (127.0.0.0/8)", hint: unicast };
    if (a === 169 && b === 254) return { message: "is link-local (169.254.0.0/16, RFC 3927)", hint: unicast };
    if (a >= 224 && a <= 239) return { message: "is a multicast address (224.0.0.0/4)", hint: `${unicast} (224.0.0.18 is VRRP's own group)` };
    if (a >= 240) return { message: "is reserved or the broadcast address (240.0.0.0/4, RFC 1112)", hint: unicast };
  } else if (family === 6) {
    const first = parseInt(canon.split(":")[0] || "0", 16);
    if (canon === "::") return { message: "is the unspecified address (::)", hint: unicast };
    if (canon === "::1") return { message: "is the loopback address (::1)", hint: unicast };
    if ((first & 0xffc0) === 0xfe80) return { message: "is link-local (fe80::/10); VRRPv3 already uses each director's own link-local address as its source", hint: unicast };
    if ((first & 0xff00) === 0xff00) return { message: "is a multicast address (ff00::/8)", hint: `${unicast} (ff02::12 is VRRP's own group)` };
  }
  if (prefix === 0) return { message: "has prefix /0, which would make every address on-link (a default route through the VIP's interface)", hint: "give the subnet's prefix, e.g. /24, or none for a host address" };
  return undefined;
}

/** The service's display name: its own, `<vip>:<port>`, `[v6]:<port>` or `fwmark<N>`. */
export function serviceName(s: { name?: string; vip?: string; port?: number; fwmark?: number }): string {
  if (s.name) return s.name;
  if (s.fwmark !== undefined) return `fwmark${s.fwmark}`;
  const vip = s.vip ?? "?";
  return `${isIP(vip) === 6 ? `[${vip}]` : vip}:${s.port ?? "?"}`;
}

// --- NAT gateways ----------------------------------------------------------------------------

/** An address as a bit string (IPv4: 32 bits, IPv6: 128), or undefined when it is not one. */
function addressBits(addr: string): { family: 4 | 6; bits: bigint } | undefined {
  const family = isIP(addr);
  if (family === 4) return { family, bits: addr.split(".").reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n) };
  if (family !== 6) return undefined;
  let text = addr.toLowerCase();
  // An embedded IPv4 tail (::ffff:10.0.0.1) is the last two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = addressBits(v4[1]!)!.bits;
    text = `${text.slice(0, -v4[1]!.length)}${(b >> 16n).toString(16)}:${(b & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const hs = head ? head.split(":") : [];
  const ts = tail ? tail.split(":") : [];
  const groups = tail === undefined ? hs : [...hs, ...Array<string>(8 - hs.length - ts.length).fill("0"), ...ts];
  return { family, bits: groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g || "0", 16)), 0n) };
}

/** Whether `addr` lies in `net/prefix` (same family only). */
export function inSubnet(addr: string, net: string, prefix: number): boolean {
  const a = addressBits(addr);
  const n = addressBits(net);
  if (!a || !n || a.family !== n.family) return false;
  const width = a.family === 4 ? 32 : 128;
  const shift = BigInt(width - Math.min(prefix, width));
  return a.bits >> shift === n.bits >> shift;
}

export interface GatewayVip {
  address: string;
  prefix: number;
}

/**
 * The gateway a NAT real server at `rsAddress` sends its replies through: the service's own
 * `nat_gateway` when it gives one, else the one VRRP VIP on the real server's network (the VIP's
 * prefix contains the real server's address) that is no service's VIP: keepalived's LVS-NAT
 * setups put exactly such an address on the directors' inside interface. Undefined when none, or
 * more than one, fits.
 */
export function natGateway(given: string | undefined, rsAddress: string, vrrpVips: GatewayVip[], serviceVips: ReadonlySet<string>): { gateway: string; inferred: boolean } | undefined {
  if (given !== undefined) return { gateway: given, inferred: false };
  const max = isIP(rsAddress) === 6 ? 128 : 32;
  const fits = [...new Map(vrrpVips.filter((v) => v.prefix < max && !serviceVips.has(canonicalIp(v.address)) && inSubnet(rsAddress, v.address, v.prefix)).map((v) => [canonicalIp(v.address), v])).values()];
  return fits.length === 1 ? { gateway: fits[0]!.address, inferred: true } : undefined;
}
