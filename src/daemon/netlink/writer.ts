// Netlink messages written straight into one buffer: headers, attributes and nests in place, the
// lengths filled in when a message or a nest ends. One allocation for a datagram of many requests
// instead of one small Buffer per attribute and a concat per nest: a table of 1,000 services x 10
// real servers is 11,000 requests and about 100,000 attributes, and on a slow machine those
// allocations cost more than the kernel's work. Pure; the bytes are the same as attrs.ts and
// message.ts build one by one (the unit tests compare them).
import { NLA_HDRLEN } from "./attrs.js";
import { align4, NLM_F_ACK, NLMSG_HDRLEN, type BatchAcks, type EncodedBatch } from "./message.js";

export class NlWriter {
  #b: Buffer;
  #off = 0;

  constructor(capacity = 4096) {
    this.#b = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#off;
  }

  /** The buffer written into (valid up to `length`; it may be replaced as it grows). */
  get buffer(): Buffer {
    return this.#b;
  }

  /** Forgets everything from `mark` (a `length` read earlier) on: a message that could not be
   * written whole is taken back. */
  truncate(mark: number): void {
    this.#off = Math.min(mark, this.#off);
  }

  /** A view of the bytes written between two marks (shares the buffer: copy it to keep it past
   * the next write that grows the buffer). */
  view(from = 0, to = this.#off): Buffer {
    return this.#b.subarray(from, to);
  }

  #room(n: number): void {
    if (this.#off + n <= this.#b.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.#b.length * 2, this.#off + n));
    this.#b.copy(b, 0, 0, this.#off);
    this.#b = b;
  }

  /** Starts a message (nlmsghdr, its length left to `end`); returns its mark. */
  begin(type: number, flags: number, seq: number, pid = 0): number {
    this.#room(NLMSG_HDRLEN);
    const b = this.#b;
    const at = this.#off;
    b.writeUInt32LE(0, at);
    b.writeUInt16LE(type, at + 4);
    b.writeUInt16LE(flags, at + 6);
    b.writeUInt32LE(seq >>> 0, at + 8);
    b.writeUInt32LE(pid >>> 0, at + 12);
    this.#off = at + NLMSG_HDRLEN;
    return at;
  }

  /** Ends the message begun at `mark`: nlmsg_len counts header and payload, not the padding. */
  end(mark: number): void {
    this.#b.writeUInt32LE(this.#off - mark, mark);
    this.#pad();
  }

  /** Raw bytes (a generic netlink header, a nest written elsewhere), then padding to 4. */
  raw(bytes: Buffer): void {
    this.#room(bytes.length + 3);
    bytes.copy(this.#b, this.#off);
    this.#off += bytes.length;
    this.#pad();
  }

  /** The 4-byte genlmsghdr. */
  genl(cmd: number, version: number): void {
    this.#room(4);
    const b = this.#b;
    b[this.#off] = cmd;
    b[this.#off + 1] = version;
    b[this.#off + 2] = 0;
    b[this.#off + 3] = 0;
    this.#off += 4;
  }

  /** An attribute header for `valueLen` bytes of value; returns where the value goes. */
  #attr(type: number, valueLen: number): number {
    const len = NLA_HDRLEN + valueLen;
    if (len > 0xffff) throw new RangeError(`netlink attribute ${type} too long (${len})`);
    this.#room(align4(len));
    const at = this.#off;
    this.#b.writeUInt16LE(len, at);
    this.#b.writeUInt16LE(type, at + 2);
    this.#off = at + len;
    return at + NLA_HDRLEN;
  }

  #pad(): void {
    while (this.#off % 4 !== 0) this.#b[this.#off++] = 0;
  }

  u8(type: number, v: number): void {
    const at = this.#attr(type, 1); // first: it may grow the buffer
    this.#b[at] = v & 0xff;
    this.#pad();
  }
  u16(type: number, v: number): void {
    const at = this.#attr(type, 2);
    this.#b.writeUInt16LE(v, at);
    this.#pad();
  }
  /** u16 in network order, without NLA_F_NET_BYTEORDER (as attrs.ts attrBe16). */
  be16(type: number, v: number): void {
    const at = this.#attr(type, 2);
    this.#b.writeUInt16BE(v, at);
    this.#pad();
  }
  u32(type: number, v: number): void {
    const at = this.#attr(type, 4);
    this.#b.writeUInt32LE(v >>> 0, at);
  }
  be32(type: number, v: number): void {
    const at = this.#attr(type, 4);
    this.#b.writeUInt32BE(v >>> 0, at);
  }
  bytes(type: number, value: Buffer): void {
    const at = this.#attr(type, value.length);
    value.copy(this.#b, at);
    this.#pad();
  }
  /** NUL-terminated, as attrs.ts attrString. */
  string(type: number, s: string): void {
    const n = Buffer.byteLength(s, "utf8");
    const at = this.#attr(type, n + 1);
    this.#b.write(s, at, "utf8");
    this.#b[at + n] = 0;
    this.#pad();
  }
  /** An IPv4 address's 4 bytes followed by `zeros` zero bytes (IPVS's 16-byte nf_inet_addr);
   * false (nothing written) when `s` is not a dotted quad as isIpv4 accepts it. */
  ipv4(type: number, s: string, zeros = 0): boolean {
    const v = ipv4Number(s);
    if (v < 0) return false;
    const at = this.#attr(type, 4 + zeros);
    this.#b.writeUInt32BE(v, at);
    this.#b.fill(0, at + 4, at + 4 + zeros);
    this.#pad();
    return true;
  }

  /** Starts a nest (its length left to `nestEnd`); `type` as sent (with NLA_F_NESTED or not). */
  nest(type: number): number {
    this.#room(NLA_HDRLEN);
    const at = this.#off;
    this.#b.writeUInt16LE(type, at + 2);
    this.#off = at + NLA_HDRLEN;
    return at;
  }
  nestEnd(mark: number): void {
    const len = this.#off - mark;
    if (len > 0xffff) throw new RangeError(`netlink nest too long (${len})`);
    this.#b.writeUInt16LE(len, mark);
  }
}

/** A dotted quad (no leading zeros, each part 0..255, as isIpv4) as an unsigned number; -1 when
 * it is not one. A scan, not a regex and a split: this runs once per address written. */
export function ipv4Number(s: string): number {
  let v = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // a leading zero
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else return -1;
  }
  if (digits === 0 || dots !== 3) return -1;
  return v * 256 + part;
}

/** Many requests written straight into datagrams of at most `maxBytes` (what encodeBatch makes of
 * messages encoded one by one, without the copies): `add` writes one message; a message that
 * would cross `maxBytes` starts the next datagram. NLM_F_ACK is set per `acks` when the batch is
 * finished (encodeBatch's rules: "each", or the last message of every datagram). */
export class BatchWriter {
  readonly #maxBytes: number;
  readonly #acks: BatchAcks;
  #w: NlWriter;
  #offsets: number[] = [];
  readonly #done: { w: NlWriter; offsets: number[] }[] = [];

  constructor(opts: { maxBytes: number; acks: BatchAcks }) {
    this.#maxBytes = opts.maxBytes;
    this.#acks = opts.acks;
    this.#w = new NlWriter(Math.min(opts.maxBytes, 65536) + 512);
  }

  /** Messages written so far. */
  get count(): number {
    return this.#done.reduce((n, d) => n + d.offsets.length, 0) + this.#offsets.length;
  }

  /** `write` writes exactly one message into the writer it is given. If it throws, nothing of it
   * stays and the error goes on. */
  add(write: (w: NlWriter) => void): void {
    const w = this.#w;
    const mark = w.length;
    try {
      write(w);
    } catch (e) {
      w.truncate(mark);
      throw e;
    }
    if (w.length > this.#maxBytes && mark > 0) {
      // past the datagram's limit: this message opens the next one
      const msg = Buffer.from(w.view(mark));
      w.truncate(mark);
      this.#done.push({ w, offsets: this.#offsets });
      this.#w = new NlWriter(Math.min(this.#maxBytes, 65536) + 512);
      this.#offsets = [];
      this.#w.raw(msg);
      this.#offsets.push(0);
      return;
    }
    this.#offsets.push(mark);
  }

  finish(): EncodedBatch {
    if (this.#offsets.length > 0) this.#done.push({ w: this.#w, offsets: this.#offsets });
    this.#offsets = [];
    const out: EncodedBatch = { datagrams: [], starts: [], seqs: [], acked: [] };
    for (const { w, offsets } of this.#done) {
      const b = w.buffer;
      out.starts.push(out.seqs.length);
      offsets.forEach((off, k) => {
        const ack = this.#acks === "each" || k === offsets.length - 1;
        const flags = b.readUInt16LE(off + 6);
        b.writeUInt16LE(ack ? flags | NLM_F_ACK : flags & ~NLM_F_ACK, off + 6);
        out.seqs.push(b.readUInt32LE(off + 8));
        out.acked.push(ack);
      });
      out.datagrams.push(w.view());
    }
    this.#done.length = 0;
    return out;
  }
}
