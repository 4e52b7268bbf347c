// Netlink attributes (struct nlattr, <linux/netlink.h>) and attribute policies declared as data.
// An attribute is u16 nla_len (header + value, no padding), u16 nla_type, the value, then padding
// to 4 bytes. Values are host order (little-endian here) unless a kind says "be".

import { fail, ok, type Decoded } from "../net/decoded.js";
import { bytesToIpv4, ipv4ToBytes } from "../net/ipv4.js";
import { align4 } from "./message.js";

export const NLA_HDRLEN = 4;
/** <linux/netlink.h> nla_type flag bits */
export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

export interface NlAttr {
  /** Type without the NESTED / NET_BYTEORDER bits. */
  type: number;
  nested: boolean;
  netByteOrder: boolean;
  value: Buffer;
}

// ---- encoding ---------------------------------------------------------------------------

/** One attribute, padded. `type` may already carry NLA_F_* bits. */
export function attr(type: number, value: Buffer): Buffer {
  const b = header(type, NLA_HDRLEN + value.length);
  value.copy(b, NLA_HDRLEN);
  return b;
}

/** An attribute's buffer with its header written and its padding zeroed; the value is the
 * caller's to write. One pooled allocation (allocUnsafe): a large table is tens of thousands of
 * attributes, and a zero-filled ArrayBuffer of its own for each was most of the encoding time. */
function header(type: number, len: number): Buffer {
  if (len > 0xffff) throw new RangeError(`netlink attribute ${type} too long (${len})`);
  const size = align4(len);
  const b = Buffer.allocUnsafe(size);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  if (size > len) b.fill(0, len, size);
  return b;
}

export function attrU8(type: number, v: number): Buffer {
  const b = header(type, NLA_HDRLEN + 1);
  b[NLA_HDRLEN] = v & 0xff;
  return b;
}
export function attrU16(type: number, v: number): Buffer {
  const b = header(type, NLA_HDRLEN + 2);
  b.writeUInt16LE(v, NLA_HDRLEN);
  return b;
}
/** u16 in network order (ports in IPVS); the NET_BYTEORDER flag is not set, as libipvs does. */
export function attrBe16(type: number, v: number): Buffer {
  const b = header(type, NLA_HDRLEN + 2);
  b.writeUInt16BE(v, NLA_HDRLEN);
  return b;
}
export function attrU32(type: number, v: number): Buffer {
  const b = header(type, NLA_HDRLEN + 4);
  b.writeUInt32LE(v >>> 0, NLA_HDRLEN);
  return b;
}
export function attrU64(type: number, v: bigint): Buffer {
  const b = header(type, NLA_HDRLEN + 8);
  b.writeBigUInt64LE(v, NLA_HDRLEN);
  return b;
}
/** NUL-terminated string (NLA_NUL_STRING / NLA_STRING as iproute2 sends them). */
export function attrString(type: number, s: string): Buffer {
  const n = Buffer.byteLength(s, "utf8");
  const b = header(type, NLA_HDRLEN + n + 1);
  b.write(s, NLA_HDRLEN, "utf8");
  b[NLA_HDRLEN + n] = 0;
  return b;
}
export function attrIpv4(type: number, address: string): Buffer {
  return attr(type, ipv4ToBytes(address));
}
/** A nest of already-encoded attributes. `flag` sets NLA_F_NESTED (leave it off for IPVS). */
export function attrNested(type: number, children: Buffer[], opts: { flag?: boolean } = {}): Buffer {
  return attr(opts.flag === false ? type : type | NLA_F_NESTED, Buffer.concat(children));
}

// ---- decoding ---------------------------------------------------------------------------

/** Splits an attribute stream. A header claiming more bytes than remain fails the stream; a few
 * trailing bytes smaller than a header are tolerated as padding only when they are zeros. */
export function decodeAttrs(b: Buffer): Decoded<NlAttr[], "short" | "bad-length"> {
  const out: NlAttr[] = [];
  let off = 0;
  while (off < b.length) {
    if (b.length - off < NLA_HDRLEN) {
      if (b.subarray(off).every((x) => x === 0)) break;
      return fail("short", `${b.length - off} stray bytes after attributes`);
    }
    const len = b.readUInt16LE(off);
    const rawType = b.readUInt16LE(off + 2);
    if (len < NLA_HDRLEN) return fail("bad-length", `nla_len ${len} at offset ${off}`);
    if (len > b.length - off) return fail("bad-length", `nla_len ${len} at offset ${off}, ${b.length - off} left`);
    out.push({
      type: rawType & NLA_TYPE_MASK,
      nested: (rawType & NLA_F_NESTED) !== 0,
      netByteOrder: (rawType & NLA_F_NET_BYTEORDER) !== 0,
      value: b.subarray(off + NLA_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return ok(out);
}

// ---- policies ---------------------------------------------------------------------------

/** What an attribute holds. "string" accepts with or without the NUL; "ipv4" is 4 bytes;
 * "be16"/"be32" are network order; "flag" has no value; "nested" is parsed with `policy`;
 * "nested-array" is a nest of nests indexed 1..n (CTRL_ATTR_MCAST_GROUPS, IFLA stats...). */
export type AttrKind = "u8" | "u16" | "u32" | "u64" | "s32" | "be16" | "be32" | "string" | "binary" | "ipv4" | "flag";

export interface ScalarSpec {
  readonly name: string;
  readonly kind: AttrKind;
}
export interface NestedSpec {
  readonly name: string;
  readonly kind: "nested";
  readonly policy: Policy;
}
export interface NestedArraySpec {
  readonly name: string;
  readonly kind: "nested-array";
  readonly policy: Policy;
}
export type AttrSpec = ScalarSpec | NestedSpec | NestedArraySpec;
export type Policy = { readonly [type: number]: AttrSpec };

type KindValue<K> = K extends "u64"
  ? bigint
  : K extends "string" | "ipv4"
    ? string
    : K extends "binary"
      ? Buffer
      : K extends "flag"
        ? true
        : number;

type SpecValue<S> = S extends { kind: "nested"; policy: infer P extends Policy }
  ? Parsed<P>
  : S extends { kind: "nested-array"; policy: infer P extends Policy }
    ? Parsed<P>[]
    : S extends { kind: infer K }
      ? KindValue<K>
      : never;

/** The typed object a policy parses into; every attribute is optional (the kernel may omit it). */
export type Parsed<P extends Policy> = {
  -readonly [T in keyof P as P[T] extends { name: infer N extends string } ? N : never]?: SpecValue<P[T]>;
};

const FIXED: Partial<Record<AttrKind, number>> = { u8: 1, u16: 2, u32: 4, u64: 8, s32: 4, be16: 2, be32: 4, ipv4: 4, flag: 0 };

function scalar(kind: AttrKind, v: Buffer): unknown {
  switch (kind) {
    case "u8":
      return v.readUInt8(0);
    case "u16":
      return v.readUInt16LE(0);
    case "u32":
      return v.readUInt32LE(0);
    case "s32":
      return v.readInt32LE(0);
    case "u64":
      return v.readBigUInt64LE(0);
    case "be16":
      return v.readUInt16BE(0);
    case "be32":
      return v.readUInt32BE(0);
    case "ipv4":
      return bytesToIpv4(v, 0);
    case "flag":
      return true;
    case "string": {
      const nul = v.indexOf(0);
      return v.toString("utf8", 0, nul < 0 ? v.length : nul);
    }
    case "binary":
      return Buffer.from(v);
  }
}

/** Parses an attribute stream with a policy. Unknown types are skipped (newer kernels add
 * attributes); a known type with the wrong size fails with "bad-attr" naming it. A repeated
 * attribute keeps the last value, as the kernel's nla_parse does. */
export function parseAttrs<P extends Policy>(b: Buffer, policy: P, depth = 0): Decoded<Parsed<P>> {
  if (depth > 8) return fail("bad-attr", "nesting deeper than 8");
  const attrs = decodeAttrs(b);
  if (!attrs.ok) return attrs;
  const out: Record<string, unknown> = {};
  for (const a of attrs.value) {
    const spec = policy[a.type];
    if (!spec) continue;
    if (spec.kind === "nested") {
      const inner = parseAttrs(a.value, spec.policy, depth + 1);
      if (!inner.ok) return fail(inner.reason, `${spec.name}: ${inner.detail ?? inner.reason}`);
      out[spec.name] = inner.value;
      continue;
    }
    if (spec.kind === "nested-array") {
      const items = decodeAttrs(a.value);
      if (!items.ok) return fail(items.reason, `${spec.name}: ${items.detail ?? items.reason}`);
      const arr: unknown[] = [];
      for (const item of items.value) {
        const inner = parseAttrs(item.value, spec.policy, depth + 1);
        if (!inner.ok) return fail(inner.reason, `${spec.name}[${item.type}]: ${inner.detail ?? inner.reason}`);
        arr.push(inner.value);
      }
      out[spec.name] = arr;
      continue;
    }
    const want = FIXED[spec.kind];
    if (want !== undefined && a.value.length !== want) {
      // The kernel pads some u8/u16 values in 4-byte slots only via nla_len, so a longer value is
      // a real mismatch; accept u64-in-u32 nowhere.
      return fail("bad-attr", `${spec.name}: ${a.value.length} bytes, ${spec.kind} needs ${want}`);
    }
    out[spec.name] = scalar(spec.kind, a.value);
  }
  return ok(out as Parsed<P>);
}
