// Netlink message framing (uapi <linux/netlink.h>). Pure: Buffers in, Buffers out.
// Headers are host byte order; like the kernel we assume a little-endian host (x86-64, arm64).

import { constants as osConstants } from "node:os";
import { fail, ok, type Decoded } from "../net/decoded.js";

/** sizeof(struct nlmsghdr) */
export const NLMSG_HDRLEN = 16;
/** NLMSG_ALIGNTO / NLA_ALIGNTO */
export const NLMSG_ALIGNTO = 4;

/** nlmsghdr.nlmsg_flags, <linux/netlink.h> */
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
export const NLM_F_DUMP_INTR = 0x10;
/** GET modifiers */
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
/** NEW modifiers */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** ACK modifiers (NLMSG_ERROR flags): extended-ack TLVs follow */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

/** Control message types, <linux/netlink.h> */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;
/** Types below this are reserved for control messages. */
export const NLMSG_MIN_TYPE = 0x10;

/** enum nlmsgerr_attrs (extended ack) */
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

export interface NlHeader {
  length: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Everything after the 16-byte header, up to nlmsg_len (no trailing padding). */
  payload: Buffer;
}

/** Rounds up to a multiple of 4 (NLMSG_ALIGN / NLA_ALIGN). Arithmetic, not `& ~3`: a u32 length
 * of 2^31 or more read from a packet would turn negative under JavaScript's 32-bit bit operators. */
export function align4(n: number): number {
  return n + 3 - ((n + 3) % 4);
}

/** One message: header + payload, padded to 4 bytes (nlmsg_len counts the header and payload
 * but not the final padding, like NLMSG_LENGTH). */
export function encodeMessage(m: { type: number; flags: number; seq?: number; pid?: number; payload?: Buffer }): Buffer {
  const payload = m.payload ?? Buffer.alloc(0);
  const len = NLMSG_HDRLEN + payload.length;
  const b = Buffer.alloc(align4(len));
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(m.type, 4);
  b.writeUInt16LE(m.flags, 6);
  b.writeUInt32LE((m.seq ?? 0) >>> 0, 8);
  b.writeUInt32LE((m.pid ?? 0) >>> 0, 12);
  payload.copy(b, NLMSG_HDRLEN);
  return b;
}

export function decodeHeader(b: Buffer, offset = 0): Decoded<NlHeader, "short"> {
  if (b.length - offset < NLMSG_HDRLEN) return fail("short", `${b.length - offset} bytes, nlmsghdr needs 16`);
  return ok({
    length: b.readUInt32LE(offset),
    type: b.readUInt16LE(offset + 4),
    flags: b.readUInt16LE(offset + 6),
    seq: b.readUInt32LE(offset + 8),
    pid: b.readUInt32LE(offset + 12),
  });
}

/** Splits one datagram into its messages (NLMSG_OK / NLMSG_NEXT). A bad length anywhere fails
 * the whole datagram: the framing after it cannot be trusted. */
export function decodeMessages(b: Buffer): Decoded<NlMessage[], "short" | "bad-length"> {
  const out: NlMessage[] = [];
  let off = 0;
  while (off < b.length) {
    const h = decodeHeader(b, off);
    if (!h.ok) return h;
    const { length } = h.value;
    if (length < NLMSG_HDRLEN) return fail("bad-length", `nlmsg_len ${length} at offset ${off}`);
    if (length > b.length - off) return fail("bad-length", `nlmsg_len ${length} at offset ${off}, ${b.length - off} left`);
    out.push({
      type: h.value.type,
      flags: h.value.flags,
      seq: h.value.seq,
      pid: h.value.pid,
      payload: b.subarray(off + NLMSG_HDRLEN, off + length),
    });
    off += align4(length);
  }
  return ok(out);
}

export interface NlError {
  /** 0 for an ACK, otherwise the positive errno (the wire carries it negated). */
  errno: number;
  /** errno name ("EEXIST"), "" for an ACK, "E<n>" when unknown. */
  code: string;
  ack: boolean;
  /** Header of the request this answers (its payload may be capped). */
  request: NlHeader | undefined;
  /** NLMSGERR_ATTR_MSG from extended ack (NETLINK_EXT_ACK), when the kernel sent one. */
  message?: string;
}

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(osConstants.errno)) if (!errnoNames.has(num)) errnoNames.set(num, name);

export function errnoName(errno: number): string {
  if (errno === 0) return "";
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** Body of an NLMSG_ERROR message: i32 error, then the offending request's header (and, unless
 * NLM_F_CAPPED, its payload), then extended-ack attributes when NLM_F_ACK_TLVS. */
export function decodeError(m: NlMessage): Decoded<NlError, "short" | "bad-type"> {
  if (m.type !== NLMSG_ERROR) return fail("bad-type", `type ${m.type} is not NLMSG_ERROR`);
  if (m.payload.length < 4) return fail("short", "NLMSG_ERROR without an error code");
  const err = m.payload.readInt32LE(0);
  const errno = err === 0 ? 0 : -err;
  const h = decodeHeader(m.payload, 4);
  const request = h.ok ? h.value : undefined;
  const out: NlError = { errno, code: errnoName(errno), ack: err === 0, request };
  if (m.flags & NLM_F_ACK_TLVS && request) {
    const reqLen = m.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : align4(request.length);
    // a request length past the payload (a malformed or hostile message) leaves no room for TLVs
    let off = reqLen >= NLMSG_HDRLEN && 4 + reqLen <= m.payload.length ? 4 + reqLen : m.payload.length;
    while (off + 4 <= m.payload.length) {
      const alen = m.payload.readUInt16LE(off);
      const atype = m.payload.readUInt16LE(off + 2) & 0x3fff;
      if (alen < 4 || off + alen > m.payload.length) break;
      if (atype === NLMSGERR_ATTR_MSG) out.message = m.payload.toString("utf8", off + 4, off + alen).replace(/\0+$/, "");
      off += align4(alen);
    }
  }
  return ok(out);
}

/** An NLMSG_ERROR message (what the kernel sends; used by fakes and tests). */
export function encodeError(errno: number, request: NlHeader, opts: { seq?: number; pid?: number } = {}): Buffer {
  const body = Buffer.alloc(4 + NLMSG_HDRLEN);
  body.writeInt32LE(-errno, 0);
  body.writeUInt32LE(request.length, 4);
  body.writeUInt16LE(request.type, 8);
  body.writeUInt16LE(request.flags, 10);
  body.writeUInt32LE(request.seq, 12);
  body.writeUInt32LE(request.pid, 16);
  return encodeMessage({ type: NLMSG_ERROR, flags: errno === 0 ? NLM_F_CAPPED : 0, seq: opts.seq ?? request.seq, pid: opts.pid ?? 0, payload: body });
}

/** NLMSG_DONE closing a dump (body: i32 0). */
export function encodeDone(seq: number, pid = 0): Buffer {
  return encodeMessage({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq, pid, payload: Buffer.alloc(4) });
}

/** How a batch asks for answers. "each": NLM_F_ACK on every message, so every message answers
 * (an ACK or its error). "errors": NLM_F_ACK on the last message of each datagram only; the kernel
 * still answers any message that fails (netlink_rcv_skb acks when NLM_F_ACK is set or the handler
 * returned an error), and it runs and answers a datagram's messages in order, so once the last one
 * has answered, every earlier one without an error succeeded. */
export type BatchAcks = "each" | "errors";

export interface EncodedBatch {
  /** The messages packed back to back (each already 4-byte aligned), at most `maxBytes` a
   * datagram (a single larger message goes alone). */
  datagrams: Buffer[];
  /** Index of each datagram's first message. */
  starts: number[];
  /** Per message, in order: its seq and whether it carries NLM_F_ACK (so answers either way). */
  seqs: number[];
  acked: boolean[];
}

/** Many requests in few datagrams: the kernel's netlink receive path (netlink_rcv_skb) walks every
 * message of a datagram, runs each and answers each on its own, so one sendmsg can carry hundreds
 * of requests. Pure: copies the messages, sets or clears NLM_F_ACK per `acks`, keeps the seqs
 * (each must be distinct so an answer maps back to its message). Dumps do not belong here: the
 * kernel runs one dump per socket at a time. */
export function encodeBatch(messages: readonly Buffer[], opts: { maxBytes: number; acks: BatchAcks }): EncodedBatch {
  const groups: Buffer[][] = [];
  const starts: number[] = [];
  let size = 0;
  messages.forEach((m, i) => {
    if (m.length < NLMSG_HDRLEN) throw new Error(`batch message ${i} is ${m.length} bytes, shorter than nlmsghdr`);
    if (m.length % NLMSG_ALIGNTO !== 0) throw new Error(`batch message ${i} is ${m.length} bytes, not 4-byte aligned`);
    if (groups.length === 0 || size + m.length > opts.maxBytes) {
      groups.push([]);
      starts.push(i);
      size = 0;
    }
    groups[groups.length - 1]!.push(m);
    size += m.length;
  });
  const seqs: number[] = [];
  const acked: boolean[] = [];
  const datagrams = groups.map((g) => {
    const d = Buffer.concat(g);
    let off = 0;
    g.forEach((m, k) => {
      const ack = opts.acks === "each" || k === g.length - 1;
      const flags = d.readUInt16LE(off + 6);
      d.writeUInt16LE(ack ? flags | NLM_F_ACK : flags & ~NLM_F_ACK, off + 6);
      seqs.push(d.readUInt32LE(off + 8));
      acked.push(ack);
      off += m.length;
    });
    return d;
  });
  return { datagrams, starts, seqs, acked };
}
