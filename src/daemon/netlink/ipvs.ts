// The IPVS generic netlink family ("IPVS", version 1; uapi <linux/ip_vs.h>): service and
// destination encoders as libipvs (ipvsadm) sends them, GET_INFO and the connection timeouts
// (GET_CONFIG / SET_CONFIG), and decoders of the kernel's replies, for AF_INET and AF_INET6. Pure.
// The family id is assigned at run time: resolve it with genl.ts encodeGetFamily("IPVS").
// Decoded services carry the flags a user can set apart from the kernel's own (HASHED), so a
// wanted ServiceSpec and the kernel's table compare equal.

import { fail, ok, type Decoded } from "../net/decoded.js";
import { bytesToIpv4, ipv4ToBytes, isIpv4 } from "../net/ipv4.js";
import { attrNested, attrString, attrU32, parseAttrs, type Parsed, type Policy } from "./attrs.js";
import { decodeGenlHeader } from "./genl.js";
import { ipv4Number, NlWriter } from "./writer.js";
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, type NlMessage } from "./message.js";

export const IPVS_GENL_NAME = "IPVS";
export const IPVS_GENL_VERSION = 1;

/** enum IPVS_CMD_* */
export const IPVS_CMD_NEW_SERVICE = 1;
export const IPVS_CMD_SET_SERVICE = 2;
export const IPVS_CMD_DEL_SERVICE = 3;
export const IPVS_CMD_GET_SERVICE = 4;
export const IPVS_CMD_NEW_DEST = 5;
export const IPVS_CMD_SET_DEST = 6;
export const IPVS_CMD_DEL_DEST = 7;
export const IPVS_CMD_GET_DEST = 8;
export const IPVS_CMD_NEW_DAEMON = 9;
export const IPVS_CMD_DEL_DAEMON = 10;
export const IPVS_CMD_GET_DAEMON = 11;
export const IPVS_CMD_SET_CONFIG = 12;
export const IPVS_CMD_GET_CONFIG = 13;
/** Only the cmd of the kernel's GET_INFO reply. */
export const IPVS_CMD_SET_INFO = 14;
export const IPVS_CMD_GET_INFO = 15;
export const IPVS_CMD_ZERO = 16;
export const IPVS_CMD_FLUSH = 17;

/** enum IPVS_CMD_ATTR_* */
export const IPVS_CMD_ATTR_SERVICE = 1;
export const IPVS_CMD_ATTR_DEST = 2;
export const IPVS_CMD_ATTR_DAEMON = 3;
/** u32 seconds; in SET_CONFIG and the GET_CONFIG reply (0 in SET_CONFIG: leave unchanged) */
export const IPVS_CMD_ATTR_TIMEOUT_TCP = 4;
export const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN = 5;
export const IPVS_CMD_ATTR_TIMEOUT_UDP = 6;

/** enum IPVS_INFO_ATTR_* (top-level attributes of the GET_INFO reply, cmd SET_INFO) */
export const IPVS_INFO_ATTR_VERSION = 1;
export const IPVS_INFO_ATTR_CONN_TAB_SIZE = 2;

/** enum IPVS_SVC_ATTR_* */
export const IPVS_SVC_ATTR_AF = 1;
export const IPVS_SVC_ATTR_PROTOCOL = 2;
export const IPVS_SVC_ATTR_ADDR = 3;
export const IPVS_SVC_ATTR_PORT = 4;
export const IPVS_SVC_ATTR_FWMARK = 5;
export const IPVS_SVC_ATTR_SCHED_NAME = 6;
export const IPVS_SVC_ATTR_FLAGS = 7;
export const IPVS_SVC_ATTR_TIMEOUT = 8;
export const IPVS_SVC_ATTR_NETMASK = 9;
export const IPVS_SVC_ATTR_STATS = 10;
export const IPVS_SVC_ATTR_PE_NAME = 11;
export const IPVS_SVC_ATTR_STATS64 = 12;

/** enum IPVS_DEST_ATTR_* */
export const IPVS_DEST_ATTR_ADDR = 1;
export const IPVS_DEST_ATTR_PORT = 2;
export const IPVS_DEST_ATTR_FWD_METHOD = 3;
export const IPVS_DEST_ATTR_WEIGHT = 4;
export const IPVS_DEST_ATTR_U_THRESH = 5;
export const IPVS_DEST_ATTR_L_THRESH = 6;
export const IPVS_DEST_ATTR_ACTIVE_CONNS = 7;
export const IPVS_DEST_ATTR_INACT_CONNS = 8;
export const IPVS_DEST_ATTR_PERSIST_CONNS = 9;
export const IPVS_DEST_ATTR_STATS = 10;
export const IPVS_DEST_ATTR_ADDR_FAMILY = 11;
export const IPVS_DEST_ATTR_STATS64 = 12;
export const IPVS_DEST_ATTR_TUN_TYPE = 13;
export const IPVS_DEST_ATTR_TUN_PORT = 14;
export const IPVS_DEST_ATTR_TUN_FLAGS = 15;

/** IP_VS_CONN_F_FWD_MASK methods */
export const IP_VS_CONN_F_MASQ = 0;
export const IP_VS_CONN_F_LOCALNODE = 1;
export const IP_VS_CONN_F_TUNNEL = 2;
export const IP_VS_CONN_F_DROUTE = 3;
export const IP_VS_CONN_F_BYPASS = 4;
export const FWD_METHODS = { nat: IP_VS_CONN_F_MASQ, tun: IP_VS_CONN_F_TUNNEL, dr: IP_VS_CONN_F_DROUTE } as const;
export type FwdMethod = keyof typeof FWD_METHODS;
/** Tunnel encapsulations (include/uapi/linux/ip_vs.h enum IP_VS_CONN_F_TUNNEL_TYPE_*): IPIP
 * always, GUE since Linux 5.2, GRE since 5.3. */
export const TUNNEL_TYPES = { ipip: 0, gue: 1, gre: 2 } as const;
/** Tunnel checksum flags (ip_vs.h IP_VS_TUNNEL_ENCAP_FLAG_*, Linux 5.3): GUE takes all three,
 * GRE nocsum and csum, IPIP none. */
export const TUNNEL_CSUM = { nocsum: 0, csum: 1, remcsum: 2 } as const;

/** IP_VS_SVC_F_* (uapi <linux/ip_vs.h>) */
export const IP_VS_SVC_F_PERSISTENT = 0x1;
/** Kernel-internal: set on every service in the kernel's hash table. */
export const IP_VS_SVC_F_HASHED = 0x2;
export const IP_VS_SVC_F_ONEPACKET = 0x4;
/** Scheduler flags; for sh: SCHED1 = sh-fallback, SCHED2 = sh-port (IP_VS_SVC_F_SCHED_SH_*). */
export const IP_VS_SVC_F_SCHED1 = 0x8;
export const IP_VS_SVC_F_SCHED2 = 0x10;
export const IP_VS_SVC_F_SCHED3 = 0x20;
/** The flags userland sets (ipvsadm -p, -o, -b); everything else is the kernel's own. Encoders send
 * only these: a NEW_SERVICE carrying HASHED leaves the service unhashed (ip_vs_svc_hash refuses). */
export const IP_VS_SVC_F_USER_MASK =
  IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_ONEPACKET | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3;

/** IP_VS_VERSION_CODE is 0x010201 ("1.2.1"), printed by NVERSION (uapi <linux/ip_vs.h>). */
export function ipvsVersionText(code: number): string {
  return `${(code >>> 16) & 0xff}.${(code >>> 8) & 0xff}.${code & 0xff}`;
}

/** <netinet/in.h> */
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;
/** <linux/socket.h> (module-local: rtnetlink.ts exports its own AF_INET through index.ts) */
const AF_INET = 2;
const AF_INET6 = 10;
/** An IPVS service's or destination's address family, named as `ip` names them. */
export type IpvsFamily = "inet" | "inet6";
const AF_NUMBER: Record<IpvsFamily, number> = { inet: AF_INET, inet6: AF_INET6 };
function familyOfNumber(af: number | undefined): IpvsFamily | undefined {
  return af === AF_INET ? "inet" : af === AF_INET6 ? "inet6" : undefined;
}

/** The default persistence netmask per family, as ipvsadm sends it: an IPv4 mask (/32), and for
 * IPv6 a prefix length (ip_vs_add_service accepts 1..128). */
export const IPVS_DEFAULT_NETMASK: Record<IpvsFamily, number> = { inet: 0xffffffff, inet6: 128 };

/** IP_VS_SCHEDNAME_MAXLEN (includes the NUL) */
export const IP_VS_SCHEDNAME_MAXLEN = 16;

const STATS_POLICY = {
  1: { name: "conns", kind: "u32" },
  2: { name: "inpkts", kind: "u32" },
  3: { name: "outpkts", kind: "u32" },
  4: { name: "inbytes", kind: "u64" },
  5: { name: "outbytes", kind: "u64" },
  6: { name: "cps", kind: "u32" },
  7: { name: "inpps", kind: "u32" },
  8: { name: "outpps", kind: "u32" },
  9: { name: "inbps", kind: "u32" },
  10: { name: "outbps", kind: "u32" },
} as const satisfies Policy;

const STATS64_POLICY = {
  1: { name: "conns", kind: "u64" },
  2: { name: "inpkts", kind: "u64" },
  3: { name: "outpkts", kind: "u64" },
  4: { name: "inbytes", kind: "u64" },
  5: { name: "outbytes", kind: "u64" },
  6: { name: "cps", kind: "u64" },
  7: { name: "inpps", kind: "u64" },
  8: { name: "outpps", kind: "u64" },
  9: { name: "inbps", kind: "u64" },
  10: { name: "outbps", kind: "u64" },
} as const satisfies Policy;

export const IPVS_SVC_POLICY = {
  [IPVS_SVC_ATTR_AF]: { name: "af", kind: "u16" },
  [IPVS_SVC_ATTR_PROTOCOL]: { name: "protocol", kind: "u16" },
  [IPVS_SVC_ATTR_ADDR]: { name: "addr", kind: "binary" },
  [IPVS_SVC_ATTR_PORT]: { name: "port", kind: "be16" },
  [IPVS_SVC_ATTR_FWMARK]: { name: "fwmark", kind: "u32" },
  [IPVS_SVC_ATTR_SCHED_NAME]: { name: "sched", kind: "string" },
  [IPVS_SVC_ATTR_FLAGS]: { name: "flags", kind: "binary" },
  [IPVS_SVC_ATTR_TIMEOUT]: { name: "timeout", kind: "u32" },
  [IPVS_SVC_ATTR_NETMASK]: { name: "netmask", kind: "u32" },
  [IPVS_SVC_ATTR_STATS]: { name: "stats", kind: "nested", policy: STATS_POLICY },
  [IPVS_SVC_ATTR_PE_NAME]: { name: "pe", kind: "string" },
  [IPVS_SVC_ATTR_STATS64]: { name: "stats64", kind: "nested", policy: STATS64_POLICY },
} as const satisfies Policy;

export const IPVS_DEST_POLICY = {
  [IPVS_DEST_ATTR_ADDR]: { name: "addr", kind: "binary" },
  [IPVS_DEST_ATTR_PORT]: { name: "port", kind: "be16" },
  [IPVS_DEST_ATTR_FWD_METHOD]: { name: "fwd", kind: "u32" },
  [IPVS_DEST_ATTR_WEIGHT]: { name: "weight", kind: "u32" },
  [IPVS_DEST_ATTR_U_THRESH]: { name: "uThresh", kind: "u32" },
  [IPVS_DEST_ATTR_L_THRESH]: { name: "lThresh", kind: "u32" },
  [IPVS_DEST_ATTR_ACTIVE_CONNS]: { name: "activeConns", kind: "u32" },
  [IPVS_DEST_ATTR_INACT_CONNS]: { name: "inactConns", kind: "u32" },
  [IPVS_DEST_ATTR_PERSIST_CONNS]: { name: "persistConns", kind: "u32" },
  [IPVS_DEST_ATTR_STATS]: { name: "stats", kind: "nested", policy: STATS_POLICY },
  [IPVS_DEST_ATTR_ADDR_FAMILY]: { name: "af", kind: "u16" },
  [IPVS_DEST_ATTR_STATS64]: { name: "stats64", kind: "nested", policy: STATS64_POLICY },
  [IPVS_DEST_ATTR_TUN_TYPE]: { name: "tunType", kind: "u8" },
  [IPVS_DEST_ATTR_TUN_PORT]: { name: "tunPort", kind: "be16" },
  [IPVS_DEST_ATTR_TUN_FLAGS]: { name: "tunFlags", kind: "u16" },
} as const satisfies Policy;

/** A virtual service as the kernel names it: an address family plus either a fwmark, or
 * protocol+address+port (the address's own syntax gives the family). A fwmark key without
 * `family` is IPv4; the decoders name `family` only for IPv6 fwmark services, so a wanted key and
 * the decoded one compare equal. */
export type ServiceKey =
  | { protocol: number; address: string; port: number }
  | { fwmark: number; family?: IpvsFamily };

export interface ServiceSpec {
  key: ServiceKey;
  scheduler: string;
  /** The settable IP_VS_SVC_F_* (IP_VS_SVC_F_USER_MASK; other bits are not sent); the mask sent is
   * ~0 (set exactly these flags), as libipvs does. */
  flags?: number;
  /** Persistence timeout in seconds (0 = none). */
  timeout?: number;
  /** Persistence netmask. IPv4: the mask as a number (0xffffff00 is 255.255.255.0; default
   * 0xffffffff), sent in network order as libipvs does. IPv6: a prefix length, 1..128 (default
   * 128), sent as a host-order u32 (ip_vs_add_service reads it so). */
  netmask?: number;
  pe?: string;
}

export interface DestSpec {
  address: string;
  port: number;
  fwd: FwdMethod;
  weight: number;
  uThresh?: number;
  lThresh?: number;
  /** IPIP 0, GUE 1, GRE 2 (tunnel method only; IP_VS_CONN_F_TUNNEL_TYPE_*). */
  tunType?: number;
  /** The GUE tunnel's UDP port (network order on the wire). */
  tunPort?: number;
  /** GUE/GRE checksum: IP_VS_TUNNEL_ENCAP_FLAG_* (NOCSUM 0, CSUM 1, REMCSUM 2; Linux 5.3). */
  tunFlags?: number;
}

// ---- addresses ------------------------------------------------------------------------------

const IPV4_TAIL_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEXTET_RE = /^[0-9a-fA-F]{1,4}$/;

/** RFC 4291 section 2.2 text (with "::" and an optional dotted IPv4 tail) -> 16 bytes; undefined
 * when malformed (zone ids and prefixes are not addresses). */
function parseIpv6(s: string): Buffer | undefined {
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (i === items.length - 1 && IPV4_TAIL_RE.test(it)) {
        const o = it.split(".").map(Number);
        out.push((o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!);
      } else if (HEXTET_RE.test(it)) out.push(parseInt(it, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  // a dotted tail is only allowed at the very end
  if (halves.length === 2 && halves[0]!.includes(".")) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const b = Buffer.alloc(16);
  all.forEach((g, i) => b.writeUInt16BE(g, 2 * i));
  return b;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (>= 2) of zero groups as "::"
 * (the first on a tie); IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses
 * end in dotted form, as glibc's inet_ntop (ipvsadm's text) writes them. */
function formatIpv6(b: Buffer, offset = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(offset + 2 * i));
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return `::ffff:${b[offset + 12]}.${b[offset + 13]}.${b[offset + 14]}.${b[offset + 15]}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (best === 0 && bestLen === 6) return `::${b[offset + 12]}.${b[offset + 13]}.${b[offset + 14]}.${b[offset + 15]}`;
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** The family of an address's text: IPv4 dotted quad or IPv6 (RFC 4291); undefined if neither. */
export function ipvsAddressFamily(address: string): IpvsFamily | undefined {
  if (isIpv4(address)) return "inet";
  return parseIpv6(address) ? "inet6" : undefined;
}

/** The text the decoders return for an address (IPv6 in RFC 5952 form: "FD00:0::A" is
 * "fd00::a"), so a reconciler can bring wanted addresses to the same form before comparing.
 * Throws RangeError on a malformed address, like ipv4ToBytes. */
export function canonicalIpvsAddress(address: string): string {
  if (isIpv4(address)) return address;
  const b = parseIpv6(address);
  if (!b) throw new RangeError(`not an IPv4 or IPv6 address: ${JSON.stringify(address)}`);
  return formatIpv6(b);
}

/** A key in the form the decoders return it (IPv6 text per RFC 5952, no `family: "inet"`), so
 * wanted and decoded keys compare with deepEqual or as map keys. Throws RangeError like
 * canonicalIpvsAddress. */
export function canonicalServiceKey(k: ServiceKey): ServiceKey {
  if ("fwmark" in k) return k.family === "inet6" ? { fwmark: k.fwmark, family: "inet6" } : { fwmark: k.fwmark };
  return { protocol: k.protocol, address: canonicalIpvsAddress(k.address), port: k.port };
}

/** The family a service key names. */
export function serviceKeyFamily(k: ServiceKey): IpvsFamily {
  if ("fwmark" in k) return k.family ?? "inet";
  const f = ipvsAddressFamily(k.address);
  if (!f) throw new RangeError(`not an IPv4 or IPv6 address: ${JSON.stringify(k.address)}`);
  return f;
}

/** ADDR as libipvs sends it: a 16-byte union nf_inet_addr (an IPv4 address in the first 4). */
function inetAddr16(address: string): { family: IpvsFamily; bytes: Buffer } {
  if (isIpv4(address)) {
    const b = Buffer.alloc(16);
    ipv4ToBytes(address).copy(b, 0);
    return { family: "inet", bytes: b };
  }
  const v6 = parseIpv6(address);
  if (!v6) throw new RangeError(`not an IPv4 or IPv6 address: ${JSON.stringify(address)}`);
  return { family: "inet6", bytes: v6 };
}

/** Reads ADDR for a family: IPv4 from the first 4 bytes, IPv6 needs all 16. */
function addrText(family: IpvsFamily, b: Buffer | undefined): string | undefined {
  if (!b) return undefined;
  if (family === "inet") return b.length >= 4 ? bytesToIpv4(b) : undefined;
  return b.length >= 16 ? formatIpv6(b) : undefined;
}

// ---- encoders -------------------------------------------------------------------------------
// Written in place with an NlWriter (writer.ts): a large table's writes are tens of thousands of
// requests, and one small Buffer per attribute cost more than the kernel's work.

function writeServiceKey(w: NlWriter, k: ServiceKey): void {
  if ("fwmark" in k) {
    w.u16(IPVS_SVC_ATTR_AF, AF_NUMBER[k.family ?? "inet"]);
    w.u32(IPVS_SVC_ATTR_FWMARK, k.fwmark);
    return;
  }
  if (ipv4Number(k.address) >= 0) {
    w.u16(IPVS_SVC_ATTR_AF, AF_INET);
    w.u16(IPVS_SVC_ATTR_PROTOCOL, k.protocol);
    w.ipv4(IPVS_SVC_ATTR_ADDR, k.address, 12);
  } else {
    const a = inetAddr16(k.address);
    w.u16(IPVS_SVC_ATTR_AF, AF_NUMBER[a.family]);
    w.u16(IPVS_SVC_ATTR_PROTOCOL, k.protocol);
    w.bytes(IPVS_SVC_ATTR_ADDR, a.bytes);
  }
  w.be16(IPVS_SVC_ATTR_PORT, k.port);
}

/** NETMASK's 4 bytes: the kernel stores them raw (nla_get_be32) and reads an IPv6 service's as a
 * host-order prefix length ((__force __u32) netmask in ip_vs_add_service); an IPv4 mask is in
 * network order, as libipvs puts inet_addr()'s result. */
function writeNetmask(w: NlWriter, family: IpvsFamily, netmask: number): void {
  if (family === "inet6") {
    if (!Number.isInteger(netmask) || netmask < 1 || netmask > 128) throw new RangeError(`IPv6 persistence netmask is a prefix length 1..128, not ${netmask}`);
    w.u32(IPVS_SVC_ATTR_NETMASK, netmask);
  } else w.be32(IPVS_SVC_ATTR_NETMASK, netmask);
}

/** FLAGS: struct ip_vs_flags { u32 flags; u32 mask }, mask ~0 (set exactly these), as libipvs. */
const flagsScratch = Buffer.alloc(8);

/** The SERVICE nest written in place (no NLA_F_NESTED: the IPVS policy predates strict
 * validation, as libipvs). A key-only nest names a service for DEL_SERVICE and for dest commands;
 * `full` adds the fields NEW/SET_SERVICE require (SCHED_NAME, FLAGS, TIMEOUT, NETMASK) or the
 * kernel answers EINVAL. Throws (RangeError) on what the kernel cannot take, part written: the
 * caller takes the message back (NlWriter.truncate). */
export function writeServiceNest(w: NlWriter, s: ServiceSpec | ServiceKey, full: boolean): void {
  const spec: ServiceSpec | undefined = "key" in s ? s : undefined;
  const key = spec ? spec.key : (s as ServiceKey);
  if (full) {
    if (!spec) throw new Error("a full service nest needs a ServiceSpec");
    if (Buffer.byteLength(spec.scheduler) >= IP_VS_SCHEDNAME_MAXLEN) throw new RangeError(`scheduler name ${spec.scheduler} too long`);
  }
  const m = w.nest(IPVS_CMD_ATTR_SERVICE);
  writeServiceKey(w, key);
  if (spec && full) {
    const family = serviceKeyFamily(key);
    w.string(IPVS_SVC_ATTR_SCHED_NAME, spec.scheduler);
    flagsScratch.writeUInt32LE(((spec.flags ?? 0) & IP_VS_SVC_F_USER_MASK) >>> 0, 0);
    flagsScratch.writeUInt32LE(0xffffffff, 4);
    w.bytes(IPVS_SVC_ATTR_FLAGS, flagsScratch);
    w.u32(IPVS_SVC_ATTR_TIMEOUT, spec.timeout ?? 0);
    writeNetmask(w, family, spec.netmask ?? IPVS_DEFAULT_NETMASK[family]);
    if (spec.pe !== undefined) w.string(IPVS_SVC_ATTR_PE_NAME, spec.pe);
  }
  w.nestEnd(m);
}

/** The SERVICE nest as its own Buffer (see writeServiceNest). */
export function serviceNest(s: ServiceSpec | ServiceKey, full: boolean): Buffer {
  const w = new NlWriter(128);
  writeServiceNest(w, s, full);
  return w.view();
}

/** The DEST nest written in place. ADDR_FAMILY is the address's own (a tunnel destination may
 * differ from its service's; without it the kernel assumes the service's). `full` adds what
 * NEW/SET_DEST require (FWD_METHOD, WEIGHT, thresholds); a key-only nest (DEL_DEST) is ADDR, PORT
 * and ADDR_FAMILY. */
export function writeDestNest(w: NlWriter, d: DestSpec | { address: string; port: number }, full: boolean): void {
  if (full && !("fwd" in d)) throw new Error("a full dest nest needs a DestSpec");
  const m = w.nest(IPVS_CMD_ATTR_DEST);
  let af = AF_INET;
  if (!w.ipv4(IPVS_DEST_ATTR_ADDR, d.address, 12)) {
    const a = inetAddr16(d.address);
    af = AF_NUMBER[a.family];
    w.bytes(IPVS_DEST_ATTR_ADDR, a.bytes);
  }
  w.be16(IPVS_DEST_ATTR_PORT, d.port);
  const spec = full && "fwd" in d ? d : undefined;
  if (spec) {
    w.u32(IPVS_DEST_ATTR_FWD_METHOD, FWD_METHODS[spec.fwd]);
    w.u32(IPVS_DEST_ATTR_WEIGHT, spec.weight);
    w.u32(IPVS_DEST_ATTR_U_THRESH, spec.uThresh ?? 0);
    w.u32(IPVS_DEST_ATTR_L_THRESH, spec.lThresh ?? 0);
  }
  w.u16(IPVS_DEST_ATTR_ADDR_FAMILY, af);
  if (spec) {
    if (spec.tunType !== undefined) w.u8(IPVS_DEST_ATTR_TUN_TYPE, spec.tunType);
    if (spec.tunPort !== undefined) w.be16(IPVS_DEST_ATTR_TUN_PORT, spec.tunPort);
    if (spec.tunFlags !== undefined) w.u16(IPVS_DEST_ATTR_TUN_FLAGS, spec.tunFlags);
  }
  w.nestEnd(m);
}

/** The DEST nest as its own Buffer (see writeDestNest). */
export function destNest(d: DestSpec | { address: string; port: number }, full: boolean): Buffer {
  const w = new NlWriter(128);
  writeDestNest(w, d, full);
  return w.view();
}

/** One IPVS request written in place: nlmsghdr (REQUEST|ACK, or REQUEST|DUMP), genlmsghdr, then
 * what `body` writes. `extraFlags` are OR-ed into the header's flags. On a throw the message is
 * taken back and the error goes on. */
export function writeIpvsRequest(w: NlWriter, family: number, seq: number, cmd: number, body: ((w: NlWriter) => void) | undefined, dump = false): void {
  const mark = w.begin(family, dump ? NLM_F_REQUEST | NLM_F_DUMP : NLM_F_REQUEST | NLM_F_ACK, seq);
  try {
    w.genl(cmd, IPVS_GENL_VERSION);
    body?.(w);
  } catch (e) {
    w.truncate(mark);
    throw e;
  }
  w.end(mark);
}

function ipvsRequest(family: number, seq: number, cmd: number, body?: (w: NlWriter) => void, dump = false): Buffer {
  const w = new NlWriter(256);
  writeIpvsRequest(w, family, seq, cmd, body, dump);
  return w.view();
}

/** The writes the reconciler sends, in place: a service's NEW/SET (full nest), DEL (key only), a
 * destination's NEW/SET (full) and DEL (key only). `keyNest`, when given, is the service's
 * key-only nest already encoded (serviceNest(key, false)): a service's destinations share it. */
export function writeServiceRequest(w: NlWriter, family: number, seq: number, cmd: typeof IPVS_CMD_NEW_SERVICE | typeof IPVS_CMD_SET_SERVICE | typeof IPVS_CMD_DEL_SERVICE, s: ServiceSpec | ServiceKey): void {
  writeIpvsRequest(w, family, seq, cmd, (w) => writeServiceNest(w, s, cmd !== IPVS_CMD_DEL_SERVICE));
}
export function writeDestRequest(
  w: NlWriter,
  family: number,
  seq: number,
  cmd: typeof IPVS_CMD_NEW_DEST | typeof IPVS_CMD_SET_DEST | typeof IPVS_CMD_DEL_DEST,
  k: ServiceKey,
  d: DestSpec | { address: string; port: number },
  keyNest?: Buffer,
): void {
  writeIpvsRequest(w, family, seq, cmd, (w) => {
    if (keyNest) w.raw(keyNest);
    else writeServiceNest(w, k, false);
    writeDestNest(w, d, cmd !== IPVS_CMD_DEL_DEST);
  });
}

/** NEW_SERVICE (EEXIST: exists) / SET_SERVICE (ESRCH: missing) / DEL_SERVICE (ESRCH). */
export function encodeNewService(family: number, seq: number, s: ServiceSpec): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_NEW_SERVICE, (w) => writeServiceNest(w, s, true));
}
export function encodeSetService(family: number, seq: number, s: ServiceSpec): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_SET_SERVICE, (w) => writeServiceNest(w, s, true));
}
export function encodeDelService(family: number, seq: number, k: ServiceKey): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_DEL_SERVICE, (w) => writeServiceNest(w, k, false));
}
export function encodeNewDest(family: number, seq: number, k: ServiceKey, d: DestSpec): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_NEW_DEST, (w) => (writeServiceNest(w, k, false), writeDestNest(w, d, true)));
}
export function encodeSetDest(family: number, seq: number, k: ServiceKey, d: DestSpec): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_SET_DEST, (w) => (writeServiceNest(w, k, false), writeDestNest(w, d, true)));
}
export function encodeDelDest(family: number, seq: number, k: ServiceKey, d: { address: string; port: number }): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_DEL_DEST, (w) => (writeServiceNest(w, k, false), writeDestNest(w, d, false)));
}
/** GET_SERVICE dump: answered by NEW_SERVICE messages. */
export function encodeGetServices(family: number, seq: number): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_GET_SERVICE, undefined, true);
}
/** GET_DEST dump of one service: answered by NEW_DEST messages. */
export function encodeGetDests(family: number, seq: number, k: ServiceKey): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_GET_DEST, (w) => writeServiceNest(w, k, false), true);
}
export function encodeFlush(family: number, seq: number): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_FLUSH);
}
/** GET_INFO: answered by one SET_INFO message (decodeInfo), then the ACK. */
export function encodeGetInfo(family: number, seq: number): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_GET_INFO);
}
/** GET_CONFIG: answered by one SET_CONFIG message (decodeTimeouts), then the ACK. */
export function encodeGetConfig(family: number, seq: number): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_GET_CONFIG);
}

/** The connection timeouts, in seconds (ipvsadm --set tcp tcpfin udp; -L --timeout). */
export interface IpvsTimeouts {
  tcp: number;
  tcpFin: number;
  udp: number;
}

/** SET_CONFIG with the timeouts given; the others are left alone (not sent). The kernel also
 * leaves a 0 alone (ip_vs_set_timeout), so "unset" is not expressible, as with ipvsadm. */
export function encodeSetConfig(family: number, seq: number, t: Partial<IpvsTimeouts>): Buffer {
  const attrs: Buffer[] = [];
  const put = (type: number, name: string, v: number | undefined) => {
    if (v === undefined) return;
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new RangeError(`IPVS ${name} timeout ${v} is not a number of seconds`);
    attrs.push(attrU32(type, v));
  };
  put(IPVS_CMD_ATTR_TIMEOUT_TCP, "tcp", t.tcp);
  put(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, "tcpFin", t.tcpFin);
  put(IPVS_CMD_ATTR_TIMEOUT_UDP, "udp", t.udp);
  return ipvsRequest(family, seq, IPVS_CMD_SET_CONFIG, (w) => attrs.forEach((a) => w.raw(a)));
}

// ---- decoders -------------------------------------------------------------------------------

export interface IpvsService {
  key: ServiceKey;
  scheduler: string;
  /** The settable flags (flags & IP_VS_SVC_F_USER_MASK): what a ServiceSpec sets. */
  flags: number;
  /** The flags exactly as the kernel reports them (HASHED included). */
  kernelFlags: number;
  timeout: number;
  /** As in ServiceSpec: an IPv4 mask number, or an IPv6 prefix length. */
  netmask: number;
  pe?: string;
  stats?: Parsed<typeof STATS64_POLICY>;
}

export interface IpvsDest {
  /** In its own family (a tunnel destination may differ from its service's). */
  address: string;
  port: number;
  fwd: number;
  weight: number;
  uThresh: number;
  lThresh: number;
  activeConns: number;
  inactConns: number;
  persistConns: number;
  /** Tunnel type (IPIP 0, GUE 1, GRE 2) and port (GUE), as the kernel reports them since 5.2 for
   * every destination (0 for other methods); absent from older kernels. */
  tunType?: number;
  tunPort?: number;
  tunFlags?: number;
  /** Packet, byte and connection counters (STATS64). */
  stats?: Parsed<typeof STATS64_POLICY>;
}

export interface IpvsInfo {
  /** IP_VS_VERSION_CODE, e.g. 0x010201; ipvsVersionText() gives "1.2.1". */
  version: number;
  /** Connection hash table size (ip_vs_conn_tab_size; ipvsadm's "size="). */
  connTabSize: number;
}

function genlReply(m: NlMessage, cmd: number): Decoded<Buffer> {
  const g = decodeGenlHeader(m);
  if (!g.ok) return g;
  if (g.value.header.cmd !== cmd) return fail("bad-type", `IPVS cmd ${g.value.header.cmd}, expected ${cmd}`);
  return ok(g.value.attrs);
}

/** One NEW_SERVICE message of a GET_SERVICE dump (AF_INET or AF_INET6; others are "bad-field"). */
export function decodeService(m: NlMessage): Decoded<IpvsService> {
  const attrs = genlReply(m, IPVS_CMD_NEW_SERVICE);
  if (!attrs.ok) return attrs;
  const top = parseAttrs(attrs.value, { [IPVS_CMD_ATTR_SERVICE]: { name: "svc", kind: "nested", policy: IPVS_SVC_POLICY } } as const);
  if (!top.ok) return top;
  const s = top.value.svc;
  if (!s) return fail("bad-field", "no SERVICE nest");
  const family = familyOfNumber(s.af);
  if (!family) return fail("bad-field", `address family ${s.af ?? "missing"}`);
  let key: ServiceKey;
  if (s.fwmark !== undefined && s.fwmark !== 0) key = family === "inet" ? { fwmark: s.fwmark } : { fwmark: s.fwmark, family };
  else {
    const address = addrText(family, s.addr);
    if (s.protocol === undefined || address === undefined || s.port === undefined) return fail("bad-field", "service without fwmark or protocol/addr/port");
    key = { protocol: s.protocol, address, port: s.port };
  }
  const kernelFlags = s.flags && s.flags.length >= 4 ? s.flags.readUInt32LE(0) : 0;
  // NETMASK was parsed as a host-order u32: right for an IPv6 prefix length; an IPv4 mask is
  // network order (netmaskBytes), so its bytes are read again big-endian.
  let netmask = s.netmask ?? 0;
  if (family === "inet") {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(netmask, 0);
    netmask = b.readUInt32BE(0);
  }
  const out: IpvsService = {
    key,
    scheduler: s.sched ?? "",
    flags: kernelFlags & IP_VS_SVC_F_USER_MASK,
    kernelFlags,
    timeout: s.timeout ?? 0,
    netmask,
  };
  if (s.pe !== undefined) out.pe = s.pe;
  if (s.stats64 !== undefined) out.stats = s.stats64;
  return ok(out);
}

/** One NEW_DEST message of a GET_DEST dump. The address family is ADDR_FAMILY (every kernel since
 * 3.18 sends it); without it, `serviceFamily` (the dump's service), else IPv4. */
export function decodeDest(m: NlMessage, serviceFamily: IpvsFamily = "inet"): Decoded<IpvsDest> {
  const attrs = genlReply(m, IPVS_CMD_NEW_DEST);
  if (!attrs.ok) return attrs;
  const top = parseAttrs(attrs.value, { [IPVS_CMD_ATTR_DEST]: { name: "dest", kind: "nested", policy: IPVS_DEST_POLICY } } as const);
  if (!top.ok) return top;
  const d = top.value.dest;
  if (!d) return fail("bad-field", "no DEST nest");
  const family = d.af === undefined ? serviceFamily : familyOfNumber(d.af);
  if (!family) return fail("bad-field", `dest address family ${d.af}`);
  const address = addrText(family, d.addr);
  if (address === undefined || d.port === undefined) return fail("bad-field", "dest without addr/port");
  return ok({
    address,
    port: d.port,
    fwd: (d.fwd ?? 0) & 0x7,
    weight: d.weight ?? 0,
    uThresh: d.uThresh ?? 0,
    lThresh: d.lThresh ?? 0,
    activeConns: d.activeConns ?? 0,
    inactConns: d.inactConns ?? 0,
    persistConns: d.persistConns ?? 0,
    ...(d.tunType !== undefined ? { tunType: d.tunType } : {}),
    ...(d.tunPort !== undefined ? { tunPort: d.tunPort } : {}),
    ...(d.tunFlags !== undefined ? { tunFlags: d.tunFlags } : {}),
    ...(d.stats64 !== undefined ? { stats: d.stats64 } : {}),
  });
}

const INFO_POLICY = {
  [IPVS_INFO_ATTR_VERSION]: { name: "version", kind: "u32" },
  [IPVS_INFO_ATTR_CONN_TAB_SIZE]: { name: "connTabSize", kind: "u32" },
} as const satisfies Policy;

const TIMEOUT_POLICY = {
  [IPVS_CMD_ATTR_TIMEOUT_TCP]: { name: "tcp", kind: "u32" },
  [IPVS_CMD_ATTR_TIMEOUT_TCP_FIN]: { name: "tcpFin", kind: "u32" },
  [IPVS_CMD_ATTR_TIMEOUT_UDP]: { name: "udp", kind: "u32" },
} as const satisfies Policy;

/** The GET_INFO reply (cmd SET_INFO, top-level INFO attributes). */
export function decodeInfo(m: NlMessage): Decoded<IpvsInfo> {
  const attrs = genlReply(m, IPVS_CMD_SET_INFO);
  if (!attrs.ok) return attrs;
  const p = parseAttrs(attrs.value, INFO_POLICY);
  if (!p.ok) return p;
  if (p.value.version === undefined || p.value.connTabSize === undefined) return fail("bad-field", "GET_INFO reply without VERSION or CONN_TAB_SIZE");
  return ok({ version: p.value.version, connTabSize: p.value.connTabSize });
}

/** The GET_CONFIG reply (cmd SET_CONFIG, top-level TIMEOUT_* attributes). A kernel built without
 * IPVS TCP or UDP support leaves those out: they are then absent here too. */
export function decodeTimeouts(m: NlMessage): Decoded<Partial<IpvsTimeouts>> {
  const attrs = genlReply(m, IPVS_CMD_SET_CONFIG);
  if (!attrs.ok) return attrs;
  const p = parseAttrs(attrs.value, TIMEOUT_POLICY);
  if (!p.ok) return p;
  const out: Partial<IpvsTimeouts> = {};
  if (p.value.tcp !== undefined) out.tcp = p.value.tcp;
  if (p.value.tcpFin !== undefined) out.tcpFin = p.value.tcpFin;
  if (p.value.udp !== undefined) out.udp = p.value.udp;
  return ok(out);
}

// ---- connection sync daemon (IPVS_CMD_NEW_DAEMON / DEL_DAEMON / GET_DAEMON) -------------------

/** enum IPVS_DAEMON_ATTR_* */
export const IPVS_DAEMON_ATTR_STATE = 1;
export const IPVS_DAEMON_ATTR_MCAST_IFN = 2;
export const IPVS_DAEMON_ATTR_SYNC_ID = 3;
export const IPVS_DAEMON_ATTR_SYNC_MAXLEN = 4;
export const IPVS_DAEMON_ATTR_MCAST_GROUP = 5;
export const IPVS_DAEMON_ATTR_MCAST_GROUP6 = 6;
export const IPVS_DAEMON_ATTR_MCAST_PORT = 7;
export const IPVS_DAEMON_ATTR_MCAST_TTL = 8;
/** IP_VS_STATE_* (the daemon's role; ipvsadm --start-daemon master|backup) */
export const IP_VS_STATE_NONE = 0;
export const IP_VS_STATE_MASTER = 1;
export const IP_VS_STATE_BACKUP = 2;
export type SyncDaemonRole = "master" | "backup";
const ROLE_STATE: Record<SyncDaemonRole, number> = { master: IP_VS_STATE_MASTER, backup: IP_VS_STATE_BACKUP };
/** IP_VS_IFNAME_MAXLEN (includes the NUL) */
export const IP_VS_IFNAME_MAXLEN = 16;

/** A sync daemon as ipvsadm --start-daemon names it: role, multicast interface, sync id (0-255). */
export interface SyncDaemonSpec {
  role: SyncDaemonRole;
  ifname: string;
  syncId: number;
}

const DAEMON_POLICY = {
  [IPVS_DAEMON_ATTR_STATE]: { name: "state", kind: "u32" },
  [IPVS_DAEMON_ATTR_MCAST_IFN]: { name: "ifname", kind: "string" },
  [IPVS_DAEMON_ATTR_SYNC_ID]: { name: "syncId", kind: "u32" },
} as const satisfies Policy;

/** NEW_DAEMON: the kernel requires STATE, MCAST_IFN and SYNC_ID (ip_vs_genl_new_daemon); EEXIST
 * when a daemon of that role runs already. */
export function encodeNewDaemon(family: number, seq: number, d: SyncDaemonSpec): Buffer {
  if (Buffer.byteLength(d.ifname) >= IP_VS_IFNAME_MAXLEN || d.ifname === "") throw new RangeError(`sync daemon interface ${JSON.stringify(d.ifname)} is not an interface name`);
  if (!Number.isInteger(d.syncId) || d.syncId < 0 || d.syncId > 255) throw new RangeError(`sync id ${d.syncId} is outside 0..255`);
  const nest = attrNested(
    IPVS_CMD_ATTR_DAEMON,
    [attrU32(IPVS_DAEMON_ATTR_STATE, ROLE_STATE[d.role]), attrString(IPVS_DAEMON_ATTR_MCAST_IFN, d.ifname), attrU32(IPVS_DAEMON_ATTR_SYNC_ID, d.syncId)],
    { flag: false },
  );
  return ipvsRequest(family, seq, IPVS_CMD_NEW_DAEMON, (w) => w.raw(nest));
}

/** DEL_DAEMON of one role (STATE is all the kernel reads); ESRCH when none runs. */
export function encodeDelDaemon(family: number, seq: number, role: SyncDaemonRole): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_DEL_DAEMON, (w) => w.raw(attrNested(IPVS_CMD_ATTR_DAEMON, [attrU32(IPVS_DAEMON_ATTR_STATE, ROLE_STATE[role])], { flag: false })));
}

/** GET_DAEMON dump: one NEW_DAEMON message per running daemon. */
export function encodeGetDaemons(family: number, seq: number): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_GET_DAEMON, undefined, true);
}

/** One NEW_DAEMON message of a GET_DAEMON dump. */
export function decodeDaemon(m: NlMessage): Decoded<SyncDaemonSpec> {
  const attrs = genlReply(m, IPVS_CMD_NEW_DAEMON);
  if (!attrs.ok) return attrs;
  const top = parseAttrs(attrs.value, { [IPVS_CMD_ATTR_DAEMON]: { name: "daemon", kind: "nested", policy: DAEMON_POLICY } } as const);
  if (!top.ok) return top;
  const d = top.value.daemon;
  if (!d || d.state === undefined || d.ifname === undefined) return fail("bad-field", "daemon without STATE or MCAST_IFN");
  const role = d.state === IP_VS_STATE_MASTER ? "master" : d.state === IP_VS_STATE_BACKUP ? "backup" : undefined;
  if (!role) return fail("bad-field", `daemon state ${d.state}`);
  return ok({ role, ifname: d.ifname, syncId: d.syncId ?? 0 });
}
