// VRRP advertisements on the wire: v2 (RFC 3768 §5.1) and v3 for IPv4 (RFC 5798 §5.1), with
// keepalived's choices where it differs from the RFCs (PASS authentication for v2; the v3 IPv4
// checksum over a pseudo-header unless `v3_checksum_as_v2`). Pure: Buffers in, values out.
//
// Layout (network order):
//   byte 0    version << 4 | type (1 = ADVERTISEMENT)
//   byte 1    VRID, byte 2 priority, byte 3 count of IPv4 addresses
//   bytes 4-5 v2: auth type (u8), advert interval in seconds (u8)
//             v3: 4 reserved bits | max advert interval in centiseconds (12 bits)
//   bytes 6-7 checksum
//   then count * 4 address bytes, then (v2 only) 8 bytes of authentication data.

import { fail, ok, type Decoded } from "../net/decoded.js";
import { bytesToIpv4, decodeIpv4Header, internetChecksum, ipv4ToBytes, type Ipv4Header } from "../net/ipv4.js";

/** RFC 5798 §5.1.1.4 / RFC 3768 §5.2.4: IP protocol 112; §5.1.1.2: the IPv4 multicast group. */
export const IPPROTO_VRRP = 112;
export const VRRP_GROUP_V4 = "224.0.0.18";
/** RFC 5798 §5.1.1.3: TTL 255 on send, drop anything else on receive. */
export const VRRP_TTL = 255;
/** RFC 5798 §5.2.2: type 1 is the only type. */
export const VRRP_TYPE_ADVERT = 1;
export const VRRP_HEADER_LEN = 8;
/** RFC 3768 §5.3.10 / keepalived vrrp.h: 8 bytes of authentication data in v2. */
export const VRRP_AUTH_LEN = 8;
/** RFC 3768 §5.3.6: 0 none; 1 simple text password (keepalived PASS); 2 IP AH (keepalived AH). */
export const AUTH_NONE = 0;
export const AUTH_PASS = 1;
export const AUTH_AH = 2;
/** v3 Max Adver Int is 12 bits of centiseconds (RFC 5798 §5.2.7). */
export const V3_MAX_INTERVAL_CS = 4095;
/** The address count is one byte, and must leave the packet under a 1500-byte MTU. */
export const MAX_ADDRESSES = 255;

export interface VrrpAdvertBase {
  type: number;
  vrid: number;
  priority: number;
  addresses: string[];
}
export interface VrrpAdvertV2 extends VrrpAdvertBase {
  version: 2;
  authType: number;
  /** Exactly 8 bytes (PASS: the password, NUL-padded). */
  authData: Buffer;
  advertIntSec: number;
}
export interface VrrpAdvertV3 extends VrrpAdvertBase {
  version: 3;
  maxAdvertIntCs: number;
}
export type VrrpAdvert = VrrpAdvertV2 | VrrpAdvertV3;

/** Checksum form for v3 over IPv4: keepalived's default "pseudo" (IPv4 pseudo-header: src, dst,
 * 0, 112, length) or RFC 9568's "message" (keepalived `v3_checksum_as_v2`). v2 is always message. */
export type V3ChecksumMode = "pseudo" | "message";

/** The 8-byte password field for PASS (keepalived copies at most 8 bytes, NUL-padded). */
export function passAuthData(password: string): Buffer {
  const b = Buffer.alloc(VRRP_AUTH_LEN);
  Buffer.from(password, "utf8").copy(b, 0, 0, VRRP_AUTH_LEN);
  return b;
}

function pseudoHeader(src: string, dst: string, length: number): Buffer {
  const b = Buffer.alloc(12);
  ipv4ToBytes(src).copy(b, 0);
  ipv4ToBytes(dst).copy(b, 4);
  b[8] = 0;
  b[9] = IPPROTO_VRRP;
  b.writeUInt16BE(length, 10);
  return b;
}

/** The checksum a VRRP message (with its checksum field zeroed or not: it is excluded) should carry. */
export function vrrpChecksum(
  msg: Buffer,
  opts: { version: 2 | 3; mode?: V3ChecksumMode; src?: string; dst?: string },
): number {
  const zeroed = Buffer.from(msg);
  if (zeroed.length >= VRRP_HEADER_LEN) zeroed.writeUInt16BE(0, 6);
  if (opts.version === 3 && (opts.mode ?? "pseudo") === "pseudo") {
    if (opts.src === undefined || opts.dst === undefined) throw new Error("v3 pseudo-header checksum needs src and dst");
    return internetChecksum(pseudoHeader(opts.src, opts.dst, zeroed.length), zeroed);
  }
  return internetChecksum(zeroed);
}

export interface EncodeOptions {
  /** v3 checksum form (default "pseudo", keepalived's default). */
  checksum?: V3ChecksumMode;
  /** Source and destination of the IP packet (needed for the v3 pseudo-header). */
  src?: string;
  dst?: string;
}

/** Encodes the VRRP message (no IP header: the raw socket adds it). Throws RangeError on values
 * that cannot be on the wire: configuration is validated before it gets here. */
export function encodeAdvert(a: VrrpAdvert, opts: EncodeOptions = {}): Buffer {
  const n = a.addresses.length;
  if (n > MAX_ADDRESSES) throw new RangeError(`${n} addresses, at most ${MAX_ADDRESSES}`);
  if (a.vrid < 0 || a.vrid > 255 || a.priority < 0 || a.priority > 255) throw new RangeError("vrid/priority out of 0-255");
  const len = VRRP_HEADER_LEN + 4 * n + (a.version === 2 ? VRRP_AUTH_LEN : 0);
  const b = Buffer.alloc(len);
  b[0] = (a.version << 4) | (a.type & 0x0f);
  b[1] = a.vrid;
  b[2] = a.priority;
  b[3] = n;
  if (a.version === 2) {
    if (a.advertIntSec < 0 || a.advertIntSec > 255) throw new RangeError(`v2 advert interval ${a.advertIntSec} s`);
    if (a.authData.length !== VRRP_AUTH_LEN) throw new RangeError("v2 auth data must be 8 bytes");
    b[4] = a.authType;
    b[5] = a.advertIntSec;
  } else {
    if (a.maxAdvertIntCs < 0 || a.maxAdvertIntCs > V3_MAX_INTERVAL_CS) throw new RangeError(`v3 interval ${a.maxAdvertIntCs} cs`);
    b.writeUInt16BE(a.maxAdvertIntCs & 0x0fff, 4);
  }
  a.addresses.forEach((addr, i) => ipv4ToBytes(addr).copy(b, VRRP_HEADER_LEN + 4 * i));
  if (a.version === 2) a.authData.copy(b, VRRP_HEADER_LEN + 4 * n);
  const ck =
    a.version === 2
      ? vrrpChecksum(b, { version: 2 })
      : vrrpChecksum(b, {
          version: 3,
          mode: opts.checksum ?? "pseudo",
          ...(opts.src !== undefined ? { src: opts.src } : {}),
          ...(opts.dst !== undefined ? { dst: opts.dst } : {}),
        });
  b.writeUInt16BE(ck, 6);
  return b;
}

/** Why a received packet was rejected, in the order the checks run (wire-formats.md). */
export type VrrpRejectReason =
  | "short" // fewer bytes than an IPv4 or VRRP header
  | "bad-length" // IP total length differs from what was read, or IHL is bad
  | "bad-ttl" // TTL is not 255 (RFC 5798 §7.1)
  | "bad-protocol" // IP protocol is not 112
  | "bad-version" // neither 2 nor 3, or not the version expected
  | "bad-checksum"
  | "bad-type" // type is not 1 (advertisement)
  | "bad-count" // length does not match the address count
  | "bad-auth"; // v2 authentication type or data do not match

export interface DecodeOptions {
  /** Accept only this version (keepalived drops the other one); both when absent. */
  version?: 2 | 3;
  /** v3 checksum forms accepted, tried in order; default both ["pseudo", "message"]. */
  v3Checksum?: V3ChecksumMode[];
  /** v2 authentication expected: type and (for PASS) the 8-byte data. When absent, not checked. */
  auth?: { type: number; data?: Buffer };
}

export interface DecodedAdvert {
  advert: VrrpAdvert;
  /** Which v3 checksum form matched (v2: "message"). */
  checksumMode: V3ChecksumMode;
}

export interface ReceivedVrrp extends DecodedAdvert {
  ip: Ipv4Header;
}

/** Decodes the VRRP message alone (after the IP header). `src`/`dst` are needed to verify a
 * pseudo-header v3 checksum. Checks: size, version, checksum, type, count, auth. */
export function decodeAdvert(
  b: Buffer,
  opts: DecodeOptions & { src?: string; dst?: string } = {},
): Decoded<DecodedAdvert, VrrpRejectReason> {
  if (b.length < VRRP_HEADER_LEN) return fail("short", `${b.length} bytes, the VRRP header needs 8`);
  const version = b[0]! >> 4;
  if (version !== 2 && version !== 3) return fail("bad-version", `version ${version}`);
  if (opts.version !== undefined && version !== opts.version) return fail("bad-version", `version ${version}, expected ${opts.version}`);
  const wire = b.readUInt16BE(6);
  let checksumMode: V3ChecksumMode = "message";
  if (version === 2) {
    if (vrrpChecksum(b, { version: 2 }) !== wire) return fail("bad-checksum", "v2 checksum");
  } else {
    const modes = opts.v3Checksum ?? ["pseudo", "message"];
    const match = modes.find((mode) => {
      if (mode === "pseudo" && (opts.src === undefined || opts.dst === undefined)) return false;
      const sum =
        mode === "pseudo"
          ? vrrpChecksum(b, { version: 3, mode, src: opts.src!, dst: opts.dst! })
          : vrrpChecksum(b, { version: 3, mode });
      return sum === wire;
    });
    if (match === undefined) return fail("bad-checksum", `v3 checksum (tried ${modes.join(", ")})`);
    checksumMode = match;
  }
  const type = b[0]! & 0x0f;
  if (type !== VRRP_TYPE_ADVERT) return fail("bad-type", `type ${type}`);
  const count = b[3]!;
  const want = VRRP_HEADER_LEN + 4 * count + (version === 2 ? VRRP_AUTH_LEN : 0);
  if (b.length !== want) return fail("bad-count", `${count} addresses need ${want} bytes, have ${b.length}`);
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) addresses.push(bytesToIpv4(b, VRRP_HEADER_LEN + 4 * i));
  const base = { type, vrid: b[1]!, priority: b[2]!, addresses };
  if (version === 2) {
    const authType = b[4]!;
    const authData = Buffer.from(b.subarray(VRRP_HEADER_LEN + 4 * count, want));
    if (opts.auth !== undefined) {
      if (authType !== opts.auth.type) return fail("bad-auth", `auth type ${authType}, expected ${opts.auth.type}`);
      if (opts.auth.type === AUTH_PASS && opts.auth.data !== undefined && !authData.equals(opts.auth.data))
        return fail("bad-auth", "password mismatch");
    }
    return ok({ advert: { version: 2, ...base, authType, authData, advertIntSec: b[5]! }, checksumMode });
  }
  return ok({ advert: { version: 3, ...base, maxAdvertIntCs: b.readUInt16BE(4) & 0x0fff }, checksumMode });
}

/** Decodes what a raw IPv4 socket (protocol 112) delivers: IP header then VRRP. Checks, in the
 * order wire-formats.md lists: IP length, TTL 255, protocol, then decodeAdvert's checks. */
export function decodeVrrpPacket(b: Buffer, opts: DecodeOptions & { checkTtl?: boolean } = {}): Decoded<ReceivedVrrp, VrrpRejectReason> {
  const ip = decodeIpv4Header(b);
  if (!ip.ok) {
    if (ip.reason === "short") return fail("short", ip.detail);
    // A bad IP version or header checksum is a malformed length/header to us.
    return fail(ip.reason === "bad-checksum" ? "bad-checksum" : "bad-length", ip.detail);
  }
  if ((opts.checkTtl ?? true) && ip.value.ttl !== VRRP_TTL) return fail("bad-ttl", `TTL ${ip.value.ttl}`);
  if (ip.value.protocol !== IPPROTO_VRRP) return fail("bad-protocol", `protocol ${ip.value.protocol}`);
  const r = decodeAdvert(b.subarray(ip.value.headerLength), { ...opts, src: ip.value.src, dst: ip.value.dst });
  if (!r.ok) return r;
  return ok({ ...r.value, ip: ip.value });
}
