// The IPVS generic netlink family ("IPVS", version 1; uapi <linux/ip_vs.h>): service and
// destination encoders as libipvs (ipvsadm) sends them, and decoders of dump replies. Pure.
// The family id is assigned at run time: resolve it with genl.ts encodeGetFamily("IPVS").

import { fail, ok, type Decoded } from "../net/decoded.js";
import { bytesToIpv4, ipv4ToBytes } from "../net/ipv4.js";
import { attr, attrBe16, attrNested, attrString, attrU16, attrU32, attrU8, parseAttrs, type Parsed, type Policy } from "./attrs.js";
import { decodeGenlHeader, encodeGenlMessage } from "./genl.js";
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
export const IPVS_CMD_GET_INFO = 15;
export const IPVS_CMD_ZERO = 16;
export const IPVS_CMD_FLUSH = 17;

/** enum IPVS_CMD_ATTR_* */
export const IPVS_CMD_ATTR_SERVICE = 1;
export const IPVS_CMD_ATTR_DEST = 2;

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

/** IP_VS_SVC_F_* */
export const IP_VS_SVC_F_PERSISTENT = 0x1;
export const IP_VS_SVC_F_HASHED = 0x2;
export const IP_VS_SVC_F_ONEPACKET = 0x4;
export const IP_VS_SVC_F_SCHED1 = 0x8;
export const IP_VS_SVC_F_SCHED2 = 0x10;
export const IP_VS_SVC_F_SCHED3 = 0x20;

/** <netinet/in.h> */
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;
const AF_INET = 2;

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

/** A virtual service as the kernel names it: AF_INET plus fwmark, or protocol+address+port. */
export type ServiceKey =
  | { protocol: number; address: string; port: number }
  | { fwmark: number };

export interface ServiceSpec {
  key: ServiceKey;
  scheduler: string;
  /** IP_VS_SVC_F_*; the mask sent is ~0 (set exactly these flags), as libipvs does. */
  flags?: number;
  /** Persistence timeout in seconds (0 = none). */
  timeout?: number;
  /** Persistence netmask; 0xffffffff for IPv4 services by default. */
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
  /** IPIP 0, GUE 1, GRE 2 (tunnel method only). */
  tunType?: number;
  tunPort?: number;
}

/** ADDR as libipvs sends it: a 16-byte union nf_inet_addr, the IPv4 address in the first 4. */
function inetAddr16(address: string): Buffer {
  const b = Buffer.alloc(16);
  ipv4ToBytes(address).copy(b, 0);
  return b;
}

function serviceKeyAttrs(k: ServiceKey): Buffer[] {
  const out = [attrU16(IPVS_SVC_ATTR_AF, AF_INET)];
  if ("fwmark" in k) {
    out.push(attrU32(IPVS_SVC_ATTR_FWMARK, k.fwmark));
  } else {
    out.push(attrU16(IPVS_SVC_ATTR_PROTOCOL, k.protocol), attr(IPVS_SVC_ATTR_ADDR, inetAddr16(k.address)), attrBe16(IPVS_SVC_ATTR_PORT, k.port));
  }
  return out;
}

/** The SERVICE nest (no NLA_F_NESTED: the IPVS policy predates strict validation, as libipvs). A
 * key-only nest names a service for DEL_SERVICE and for dest commands; `full` adds the fields
 * NEW/SET_SERVICE require (SCHED_NAME, FLAGS, TIMEOUT, NETMASK) or the kernel answers EINVAL. */
export function serviceNest(s: ServiceSpec | ServiceKey, full: boolean): Buffer {
  const spec: ServiceSpec | undefined = "key" in s ? s : undefined;
  const key = spec ? spec.key : (s as ServiceKey);
  const parts = serviceKeyAttrs(key);
  if (full) {
    if (!spec) throw new Error("a full service nest needs a ServiceSpec");
    if (Buffer.byteLength(spec.scheduler) >= IP_VS_SCHEDNAME_MAXLEN) throw new RangeError(`scheduler name ${spec.scheduler} too long`);
    const flags = Buffer.alloc(8);
    flags.writeUInt32LE((spec.flags ?? 0) >>> 0, 0);
    flags.writeUInt32LE(0xffffffff, 4);
    parts.push(
      attrString(IPVS_SVC_ATTR_SCHED_NAME, spec.scheduler),
      attr(IPVS_SVC_ATTR_FLAGS, flags),
      attrU32(IPVS_SVC_ATTR_TIMEOUT, spec.timeout ?? 0),
      attrU32(IPVS_SVC_ATTR_NETMASK, spec.netmask ?? 0xffffffff),
    );
    if (spec.pe !== undefined) parts.push(attrString(IPVS_SVC_ATTR_PE_NAME, spec.pe));
  }
  return attrNested(IPVS_CMD_ATTR_SERVICE, parts, { flag: false });
}

/** The DEST nest; `full` adds what NEW/SET_DEST require (FWD_METHOD, WEIGHT, thresholds). */
export function destNest(d: DestSpec | { address: string; port: number }, full: boolean): Buffer {
  const parts = [attr(IPVS_DEST_ATTR_ADDR, inetAddr16(d.address)), attrBe16(IPVS_DEST_ATTR_PORT, d.port)];
  if (full) {
    if (!("fwd" in d)) throw new Error("a full dest nest needs a DestSpec");
    parts.push(
      attrU32(IPVS_DEST_ATTR_FWD_METHOD, FWD_METHODS[d.fwd]),
      attrU32(IPVS_DEST_ATTR_WEIGHT, d.weight),
      attrU32(IPVS_DEST_ATTR_U_THRESH, d.uThresh ?? 0),
      attrU32(IPVS_DEST_ATTR_L_THRESH, d.lThresh ?? 0),
      attrU16(IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET),
    );
    if (d.tunType !== undefined) parts.push(attrU8(IPVS_DEST_ATTR_TUN_TYPE, d.tunType));
    if (d.tunPort !== undefined) parts.push(attrBe16(IPVS_DEST_ATTR_TUN_PORT, d.tunPort));
  }
  return attrNested(IPVS_CMD_ATTR_DEST, parts, { flag: false });
}

function ipvsRequest(family: number, seq: number, cmd: number, attrs: Buffer[], dump = false): Buffer {
  return encodeGenlMessage({
    family,
    cmd,
    version: IPVS_GENL_VERSION,
    flags: dump ? NLM_F_REQUEST | NLM_F_DUMP : NLM_F_REQUEST | NLM_F_ACK,
    seq,
    attrs,
  });
}

/** NEW_SERVICE (EEXIST: exists) / SET_SERVICE (ESRCH: missing) / DEL_SERVICE (ESRCH). */
export function encodeNewService(family: number, seq: number, s: ServiceSpec): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_NEW_SERVICE, [serviceNest(s, true)]);
}
export function encodeSetService(family: number, seq: number, s: ServiceSpec): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_SET_SERVICE, [serviceNest(s, true)]);
}
export function encodeDelService(family: number, seq: number, k: ServiceKey): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_DEL_SERVICE, [serviceNest(k, false)]);
}
export function encodeNewDest(family: number, seq: number, k: ServiceKey, d: DestSpec): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_NEW_DEST, [serviceNest(k, false), destNest(d, true)]);
}
export function encodeSetDest(family: number, seq: number, k: ServiceKey, d: DestSpec): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_SET_DEST, [serviceNest(k, false), destNest(d, true)]);
}
export function encodeDelDest(family: number, seq: number, k: ServiceKey, d: { address: string; port: number }): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_DEL_DEST, [serviceNest(k, false), destNest(d, false)]);
}
/** GET_SERVICE dump: answered by NEW_SERVICE messages. */
export function encodeGetServices(family: number, seq: number): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_GET_SERVICE, [], true);
}
/** GET_DEST dump of one service: answered by NEW_DEST messages. */
export function encodeGetDests(family: number, seq: number, k: ServiceKey): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_GET_DEST, [serviceNest(k, false)], true);
}
export function encodeFlush(family: number, seq: number): Buffer {
  return ipvsRequest(family, seq, IPVS_CMD_FLUSH, []);
}

export interface IpvsService {
  key: ServiceKey;
  scheduler: string;
  flags: number;
  timeout: number;
  netmask: number;
  pe?: string;
  stats?: Parsed<typeof STATS64_POLICY>;
}

export interface IpvsDest {
  address: string;
  port: number;
  fwd: number;
  weight: number;
  uThresh: number;
  lThresh: number;
  activeConns: number;
  inactConns: number;
  persistConns: number;
}

function ipv4From16(b: Buffer | undefined): string | undefined {
  return b && b.length >= 4 ? bytesToIpv4(b) : undefined;
}

/** One NEW_SERVICE message of a GET_SERVICE dump (IPv4 services; others are "bad-field"). */
export function decodeService(m: NlMessage): Decoded<IpvsService> {
  const g = decodeGenlHeader(m);
  if (!g.ok) return g;
  if (g.value.header.cmd !== IPVS_CMD_NEW_SERVICE) return fail("bad-type", `IPVS cmd ${g.value.header.cmd}`);
  const top = parseAttrs(g.value.attrs, { [IPVS_CMD_ATTR_SERVICE]: { name: "svc", kind: "nested", policy: IPVS_SVC_POLICY } } as const);
  if (!top.ok) return top;
  const s = top.value.svc;
  if (!s) return fail("bad-field", "no SERVICE nest");
  if (s.af !== AF_INET) return fail("bad-field", `address family ${s.af ?? "missing"}`);
  let key: ServiceKey;
  if (s.fwmark !== undefined && s.fwmark !== 0) key = { fwmark: s.fwmark };
  else {
    const address = ipv4From16(s.addr);
    if (s.protocol === undefined || address === undefined || s.port === undefined) return fail("bad-field", "service without fwmark or protocol/addr/port");
    key = { protocol: s.protocol, address, port: s.port };
  }
  const out: IpvsService = {
    key,
    scheduler: s.sched ?? "",
    flags: s.flags && s.flags.length >= 4 ? s.flags.readUInt32LE(0) : 0,
    timeout: s.timeout ?? 0,
    netmask: s.netmask ?? 0,
  };
  if (s.pe !== undefined) out.pe = s.pe;
  if (s.stats64 !== undefined) out.stats = s.stats64;
  return ok(out);
}

/** One NEW_DEST message of a GET_DEST dump. */
export function decodeDest(m: NlMessage): Decoded<IpvsDest> {
  const g = decodeGenlHeader(m);
  if (!g.ok) return g;
  if (g.value.header.cmd !== IPVS_CMD_NEW_DEST) return fail("bad-type", `IPVS cmd ${g.value.header.cmd}`);
  const top = parseAttrs(g.value.attrs, { [IPVS_CMD_ATTR_DEST]: { name: "dest", kind: "nested", policy: IPVS_DEST_POLICY } } as const);
  if (!top.ok) return top;
  const d = top.value.dest;
  if (!d) return fail("bad-field", "no DEST nest");
  const address = ipv4From16(d.addr);
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
  });
}
