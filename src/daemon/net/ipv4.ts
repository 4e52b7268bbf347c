// IPv4 addresses, the Internet checksum and the IPv4 header (RFC 791 §3.1, RFC 1071). Pure.

import { fail, ok, type Decoded } from "./decoded.js";

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(s: string): boolean {
  return IPV4_RE.test(s);
}

/** "10.0.0.1" -> 4 bytes, network order. Throws on a malformed address (a programming error:
 * addresses are validated where the configuration is read). */
export function ipv4ToBytes(s: string): Buffer {
  if (!isIpv4(s)) throw new RangeError(`not an IPv4 address: ${JSON.stringify(s)}`);
  return Buffer.from(s.split(".").map((x) => Number(x)));
}

export function bytesToIpv4(b: Buffer, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** RFC 1071 Internet checksum: ones' complement of the ones' complement sum of 16-bit words
 * (an odd last byte is padded with zero). Over a buffer that includes a correct checksum the
 * result is 0. */
export function internetChecksum(...parts: Buffer[]): number {
  let sum = 0;
  let odd: number | undefined; // carries a trailing byte into the next part
  for (const b of parts) {
    let i = 0;
    if (odd !== undefined && b.length > 0) {
      sum += (odd << 8) | b[0]!;
      odd = undefined;
      i = 1;
    }
    for (; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
    if (i < b.length) odd = b[i]!;
  }
  if (odd !== undefined) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** RFC 791 §3.1 protocol numbers we meet. */
export const IPPROTO_VRRP = 112;

export interface Ipv4Header {
  /** Header length in bytes (IHL * 4, 20-60). */
  headerLength: number;
  tos: number;
  totalLength: number;
  id: number;
  /** Flags (3 bits) and fragment offset (13 bits) as on the wire. */
  fragment: number;
  ttl: number;
  protocol: number;
  checksum: number;
  src: string;
  dst: string;
}

export type Ipv4Reason = "short" | "bad-version" | "bad-length" | "bad-checksum";

/** Decodes the IPv4 header at the start of `b` (what a raw socket delivers). Checks version,
 * IHL, that total length equals the bytes read (wire-formats.md: "IP length matches what was
 * read") and the header checksum. */
export function decodeIpv4Header(b: Buffer, opts: { verifyChecksum?: boolean } = {}): Decoded<Ipv4Header, Ipv4Reason> {
  if (b.length < 20) return fail("short", `${b.length} bytes, an IPv4 header needs 20`);
  const version = b[0]! >> 4;
  if (version !== 4) return fail("bad-version", `IP version ${version}`);
  const headerLength = (b[0]! & 0x0f) * 4;
  if (headerLength < 20) return fail("bad-length", `IHL ${headerLength / 4}`);
  if (b.length < headerLength) return fail("short", `IHL says ${headerLength} bytes, have ${b.length}`);
  const totalLength = b.readUInt16BE(2);
  if (totalLength !== b.length) return fail("bad-length", `IP total length ${totalLength}, read ${b.length}`);
  if ((opts.verifyChecksum ?? true) && internetChecksum(b.subarray(0, headerLength)) !== 0)
    return fail("bad-checksum", "IPv4 header checksum");
  return ok({
    headerLength,
    tos: b[1]!,
    totalLength,
    id: b.readUInt16BE(4),
    fragment: b.readUInt16BE(6),
    ttl: b[8]!,
    protocol: b[9]!,
    checksum: b.readUInt16BE(10),
    src: bytesToIpv4(b, 12),
    dst: bytesToIpv4(b, 16),
  });
}

/** A 20-byte IPv4 header (no options) for `payloadLength` bytes, checksum filled in. DF is clear
 * unless asked for: keepalived's vrrp_build_ip4() writes frag_off 0, and with IP_HDRINCL the
 * kernel sends the flags as given, so an advert from lvsd and one from keepalived look alike. */
export function encodeIpv4Header(h: {
  src: string;
  dst: string;
  protocol: number;
  payloadLength: number;
  ttl?: number;
  tos?: number;
  id?: number;
  dontFragment?: boolean;
}): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x45;
  b[1] = h.tos ?? 0;
  b.writeUInt16BE(20 + h.payloadLength, 2);
  b.writeUInt16BE(h.id ?? 0, 4);
  b.writeUInt16BE(h.dontFragment === true ? 0x4000 : 0, 6);
  b[8] = h.ttl ?? 255;
  b[9] = h.protocol;
  ipv4ToBytes(h.src).copy(b, 12);
  ipv4ToBytes(h.dst).copy(b, 16);
  b.writeUInt16BE(internetChecksum(b), 10);
  return b;
}
