// rtnetlink (NETLINK_ROUTE) messages lvsd needs: IPv4 address add / delete / dump and events
// (<linux/if_addr.h>), link dump and events (<linux/rtnetlink.h>, <linux/if_link.h>, <linux/if.h>).
// Pure codecs: wire structs in, domain records out.

import { fail, ok, type Decoded } from "../net/decoded.js";
import { bytesToIpv4, ipv4ToBytes } from "../net/ipv4.js";
import { attr, attrIpv4, attrString, attrU32, parseAttrs, type Parsed, type Policy } from "./attrs.js";
import {
  encodeMessage,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  type NlMessage,
} from "./message.js";

/** <linux/rtnetlink.h> message types */
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_DELNEIGH = 29;

/** enum rtnetlink_groups (for NETLINK_ADD_MEMBERSHIP) and the legacy bind masks (1 << (g-1)). */
export const RTNLGRP_LINK = 1;
export const RTNLGRP_IPV4_IFADDR = 5;
export const RTMGRP_LINK = 0x1;
export const RTMGRP_IPV4_IFADDR = 0x10;

/** <bits/socket.h> */
export const AF_UNSPEC = 0;
export const AF_INET = 2;

/** sizeof(struct ifaddrmsg): u8 family, u8 prefixlen, u8 flags, u8 scope, u32 index */
export const IFADDRMSG_LEN = 8;
/** sizeof(struct ifinfomsg): u8 family, u8 pad, u16 type, i32 index, u32 flags, u32 change */
export const IFINFOMSG_LEN = 16;

/** enum IFA_* (<linux/if_addr.h>) */
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_ANYCAST = 5;
export const IFA_CACHEINFO = 6;
export const IFA_MULTICAST = 7;
export const IFA_FLAGS = 8;
export const IFA_RT_PRIORITY = 9;

/** IFA_F_* (<linux/if_addr.h>) */
export const IFA_F_SECONDARY = 0x1;
export const IFA_F_NODAD = 0x2;
export const IFA_F_OPTIMISTIC = 0x4;
export const IFA_F_DADFAILED = 0x8;
export const IFA_F_HOMEADDRESS = 0x10;
export const IFA_F_DEPRECATED = 0x20;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;
export const IFA_F_MANAGETEMPADDR = 0x100;
export const IFA_F_NOPREFIXROUTE = 0x200;

/** enum rt_scope_t (<linux/rtnetlink.h>) */
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_SITE = 200;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;

/** Address attribute policy, next to struct ifaddrmsg (<linux/if_addr.h>). */
export const IFA_POLICY = {
  [IFA_ADDRESS]: { name: "address", kind: "binary" },
  [IFA_LOCAL]: { name: "local", kind: "binary" },
  [IFA_LABEL]: { name: "label", kind: "string" },
  [IFA_BROADCAST]: { name: "broadcast", kind: "binary" },
  [IFA_CACHEINFO]: { name: "cacheinfo", kind: "binary" },
  [IFA_FLAGS]: { name: "flags", kind: "u32" },
  [IFA_RT_PRIORITY]: { name: "rtPriority", kind: "u32" },
} as const satisfies Policy;

/** enum IFLA_* (<linux/if_link.h>), the ones lvsd reads. */
export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKMODE = 17;
export const IFLA_EXT_MASK = 29;
export const IFLA_CARRIER = 33;

/** Link attribute policy, next to struct ifinfomsg. */
export const IFLA_POLICY = {
  [IFLA_ADDRESS]: { name: "address", kind: "binary" },
  [IFLA_BROADCAST]: { name: "broadcast", kind: "binary" },
  [IFLA_IFNAME]: { name: "ifname", kind: "string" },
  [IFLA_MTU]: { name: "mtu", kind: "u32" },
  [IFLA_LINK]: { name: "link", kind: "u32" },
  [IFLA_MASTER]: { name: "master", kind: "u32" },
  [IFLA_OPERSTATE]: { name: "operstate", kind: "u8" },
  [IFLA_LINKMODE]: { name: "linkmode", kind: "u8" },
  [IFLA_CARRIER]: { name: "carrier", kind: "u8" },
} as const satisfies Policy;

/** IFF_* (<linux/if.h>) */
export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_POINTOPOINT = 0x10;
export const IFF_RUNNING = 0x40;
export const IFF_NOARP = 0x80;
export const IFF_PROMISC = 0x100;
export const IFF_MULTICAST = 0x1000;
export const IFF_LOWER_UP = 0x10000;
export const IFF_DORMANT = 0x20000;

/** IF_OPER_* (RFC 2863 operStatus, <linux/if.h>) */
export const OPERSTATES = ["unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"] as const;
export type OperState = (typeof OPERSTATES)[number];

// ---- requests ---------------------------------------------------------------------------

function ifaddrmsg(family: number, prefix: number, flags: number, scope: number, ifindex: number): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b[0] = family;
  b[1] = prefix;
  b[2] = flags & 0xff;
  b[3] = scope;
  b.writeUInt32LE(ifindex >>> 0, 4);
  return b;
}

export interface AddrRequest {
  ifindex: number;
  address: string;
  prefix: number;
  label?: string;
  /** Defaults to universe (what `ip addr add` uses for a global address). */
  scope?: number;
  /** IFA_BROADCAST, when wanted (`ip addr add ... brd +`). */
  broadcast?: string;
  /** IFA_F_* for IFA_FLAGS (e.g. NOPREFIXROUTE); sent as the attribute when > 0xff or set. */
  flags?: number;
  seq: number;
}

function addrBody(r: AddrRequest): Buffer {
  if (!Number.isInteger(r.prefix) || r.prefix < 0 || r.prefix > 32) throw new RangeError(`prefix ${r.prefix}`);
  ipv4ToBytes(r.address); // validates
  if (r.label !== undefined && Buffer.byteLength(r.label) > 15) throw new RangeError(`label ${JSON.stringify(r.label)} longer than 15 bytes (IFNAMSIZ-1)`);
  const parts = [
    ifaddrmsg(AF_INET, r.prefix, r.flags ?? 0, r.scope ?? RT_SCOPE_UNIVERSE, r.ifindex),
    attrIpv4(IFA_LOCAL, r.address),
    attrIpv4(IFA_ADDRESS, r.address),
  ];
  if (r.label !== undefined) parts.push(attrString(IFA_LABEL, r.label));
  if (r.broadcast !== undefined) parts.push(attrIpv4(IFA_BROADCAST, r.broadcast));
  if (r.flags !== undefined && r.flags !== 0) parts.push(attrU32(IFA_FLAGS, r.flags));
  return Buffer.concat(parts);
}

/** RTM_NEWADDR with REQUEST|ACK|CREATE|EXCL (0x605), as `ip addr add` sends it. EEXIST in the
 * answer means the address is already there. */
export function encodeAddrAdd(r: AddrRequest): Buffer {
  return encodeMessage({
    type: RTM_NEWADDR,
    flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
    seq: r.seq,
    payload: addrBody(r),
  });
}

/** RTM_DELADDR with REQUEST|ACK. EADDRNOTAVAIL means it was already gone. */
export function encodeAddrDel(r: AddrRequest): Buffer {
  return encodeMessage({ type: RTM_DELADDR, flags: NLM_F_REQUEST | NLM_F_ACK, seq: r.seq, payload: addrBody(r) });
}

/** sizeof(struct ndmsg) (<linux/neighbour.h>): u8 family, u8 pad, u16 pad, i32 index, u16 state, u8 flags, u8 type */
export const NDMSG_LEN = 12;
/** enum NDA_* (<linux/neighbour.h>) */
export const NDA_DST = 1;

/** RTM_DELNEIGH with REQUEST|ACK for one IPv4 neighbour entry, as `ip neigh del ADDR dev IF` sends
 * it. ENOENT in the answer means there was none. */
export function encodeNeighDel(r: { ifindex: number; address: string; seq: number }): Buffer {
  const nd = Buffer.alloc(NDMSG_LEN);
  nd[0] = AF_INET;
  nd.writeInt32LE(r.ifindex, 4);
  return encodeMessage({ type: RTM_DELNEIGH, flags: NLM_F_REQUEST | NLM_F_ACK, seq: r.seq, payload: Buffer.concat([nd, attrIpv4(NDA_DST, r.address)]) });
}

/** RTM_GETADDR dump of one family (the kernel ignores ifindex in a legacy dump: filter after). */
export function encodeAddrDump(seq: number, family = AF_INET): Buffer {
  return encodeMessage({ type: RTM_GETADDR, flags: NLM_F_REQUEST | NLM_F_DUMP, seq, payload: ifaddrmsg(family, 0, 0, 0, 0) });
}

function ifinfomsg(family: number, ifindex: number): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b[0] = family;
  b.writeInt32LE(ifindex, 4);
  return b;
}

/** RTM_GETLINK dump of every link. */
export function encodeLinkDump(seq: number): Buffer {
  return encodeMessage({ type: RTM_GETLINK, flags: NLM_F_REQUEST | NLM_F_DUMP, seq, payload: ifinfomsg(AF_UNSPEC, 0) });
}

/** RTM_GETLINK of one link, by index or (ifindex 0) by name. Answered by one RTM_NEWLINK or ENODEV. */
export function encodeLinkGet(seq: number, by: { ifindex: number } | { name: string }): Buffer {
  const payload =
    "ifindex" in by
      ? ifinfomsg(AF_UNSPEC, by.ifindex)
      : Buffer.concat([ifinfomsg(AF_UNSPEC, 0), attr(IFLA_IFNAME, Buffer.from(`${by.name}\0`))]);
  return encodeMessage({ type: RTM_GETLINK, flags: NLM_F_REQUEST, seq, payload });
}

// ---- replies and events -----------------------------------------------------------------

export interface AddrInfo {
  /** "new" for RTM_NEWADDR (dump reply or event), "del" for RTM_DELADDR. */
  event: "new" | "del";
  family: number;
  ifindex: number;
  prefix: number;
  /** IFA_F_* from the header, widened by IFA_FLAGS when present. */
  flags: number;
  scope: number;
  /** IFA_ADDRESS (the peer on point-to-point links, otherwise equal to local). */
  address?: string;
  /** IFA_LOCAL: the interface's own address. */
  local?: string;
  label?: string;
  broadcast?: string;
}

function ipString(family: number, b: Buffer | undefined): string | undefined {
  if (b === undefined) return undefined;
  if (family === AF_INET && b.length === 4) return bytesToIpv4(b);
  if (b.length === 16) {
    const parts: string[] = [];
    for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(i).toString(16));
    return parts.join(":");
  }
  return undefined;
}

/** RTM_NEWADDR / RTM_DELADDR body (dump replies and RTNLGRP_IPV4_IFADDR events). */
export function decodeAddr(m: NlMessage): Decoded<AddrInfo> {
  if (m.type !== RTM_NEWADDR && m.type !== RTM_DELADDR) return fail("bad-type", `type ${m.type} is not an address message`);
  if (m.payload.length < IFADDRMSG_LEN) return fail("short", `${m.payload.length} bytes, ifaddrmsg needs 8`);
  const p = m.payload;
  const family = p[0]!;
  const attrs = parseAttrs(p.subarray(IFADDRMSG_LEN), IFA_POLICY);
  if (!attrs.ok) return attrs;
  const a: Parsed<typeof IFA_POLICY> = attrs.value;
  const out: AddrInfo = {
    event: m.type === RTM_NEWADDR ? "new" : "del",
    family,
    prefix: p[1]!,
    flags: a.flags ?? p[2]!,
    scope: p[3]!,
    ifindex: p.readUInt32LE(4),
  };
  const address = ipString(family, a.address);
  const local = ipString(family, a.local);
  const broadcast = ipString(family, a.broadcast);
  if (address !== undefined) out.address = address;
  if (local !== undefined) out.local = local;
  if (broadcast !== undefined) out.broadcast = broadcast;
  if (a.label !== undefined) out.label = a.label;
  return ok(out);
}

export interface LinkInfo {
  event: "new" | "del";
  ifindex: number;
  /** ARPHRD_* (1 = ether, 772 = loopback) */
  hwType: number;
  /** IFF_* */
  flags: number;
  change: number;
  name?: string;
  mtu?: number;
  operstate?: OperState;
  /** IFLA_ADDRESS as aa:bb:cc:dd:ee:ff */
  mac?: string;
  macBytes?: Buffer;
  carrier?: boolean;
  master?: number;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** IFF_RUNNING: operationally up (RFC 2863 "up"). */
  running: boolean;
  /** IFF_LOWER_UP: carrier present. */
  lowerUp: boolean;
}

export function formatMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

/** RTM_NEWLINK / RTM_DELLINK body (dump replies and RTNLGRP_LINK events). */
export function decodeLink(m: NlMessage): Decoded<LinkInfo> {
  if (m.type !== RTM_NEWLINK && m.type !== RTM_DELLINK) return fail("bad-type", `type ${m.type} is not a link message`);
  if (m.payload.length < IFINFOMSG_LEN) return fail("short", `${m.payload.length} bytes, ifinfomsg needs 16`);
  const p = m.payload;
  const attrs = parseAttrs(p.subarray(IFINFOMSG_LEN), IFLA_POLICY);
  if (!attrs.ok) return attrs;
  const a: Parsed<typeof IFLA_POLICY> = attrs.value;
  const flags = p.readUInt32LE(8);
  const out: LinkInfo = {
    event: m.type === RTM_NEWLINK ? "new" : "del",
    ifindex: p.readInt32LE(4),
    hwType: p.readUInt16LE(2),
    flags,
    change: p.readUInt32LE(12),
    up: (flags & IFF_UP) !== 0,
    running: (flags & IFF_RUNNING) !== 0,
    lowerUp: (flags & IFF_LOWER_UP) !== 0,
  };
  if (a.ifname !== undefined) out.name = a.ifname;
  if (a.mtu !== undefined) out.mtu = a.mtu;
  if (a.operstate !== undefined) out.operstate = OPERSTATES[a.operstate] ?? "unknown";
  if (a.address !== undefined) {
    out.macBytes = a.address;
    out.mac = formatMac(a.address);
  }
  if (a.carrier !== undefined) out.carrier = a.carrier !== 0;
  if (a.master !== undefined) out.master = a.master;
  return ok(out);
}
