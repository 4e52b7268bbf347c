// A netlink conversation over any DatagramSocket (the real RawSocket or a FakeSocket): requests
// matched to replies by sequence number, dumps collected until NLMSG_DONE, errors turned into
// typed results, and multicast events handed to a listener. No addon import here: the caller
// opens the socket (so tests pass a fake kernel).

import type { DatagramSocket, ErrnoError } from "../native/types.js";
import { AF_NETLINK, NETLINK_ADD_MEMBERSHIP, NETLINK_EXT_ACK, SOL_NETLINK } from "../native/constants.js";
import {
  align4,
  decodeError,
  decodeHeader,
  decodeMessages,
  encodeBatch,
  type EncodedBatch,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  type BatchAcks,
  type NlMessage,
} from "./message.js";

/** The outcome of one request: replies (possibly none) or the kernel's errno. Never thrown. */
export type NlResult =
  | { ok: true; messages: NlMessage[]; interrupted: boolean }
  | { ok: false; errno: number; code: string; message?: string; messages: NlMessage[] };

/** One batch in flight: its messages' answers by index, until the last one expected arrives. */
interface PendingBatch {
  results: (NlResult | undefined)[];
  /** Data replies per message (none for IPVS's writes). */
  replies: NlMessage[][];
  acked: boolean[];
  /** Messages with NLM_F_ACK that have not answered yet: the batch is done at 0. */
  awaiting: number;
  seqs: number[];
  resolve: (r: NlResult[]) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  done: boolean;
}

export interface BatchOptions {
  /** Bytes of messages per datagram (sendmsg). Default 65536, well inside the default send
   * buffer (the kernel refuses a datagram longer than sk_sndbuf - 32 with EMSGSIZE). */
  maxBytes?: number;
  /** Default "errors": only the last message and any failing one answer (see BatchAcks). */
  acks?: BatchAcks;
}

/** What a message of a batch whose answer was lost is told (the receive buffer overflowed). */
const LOST: Omit<NlResult & { ok: false }, "messages"> = {
  ok: false,
  errno: 105,
  code: "ENOBUFS",
  message: "the answer was lost: the netlink socket's receive buffer overflowed, so whether this request took effect is unknown",
};

interface Pending {
  seq: number;
  expectAck: boolean;
  messages: NlMessage[];
  interrupted: boolean;
  resolve: (r: NlResult) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export interface NetlinkConnectionOptions {
  /** Reply timeout per request (ms); the request then resolves with ETIMEDOUT. Default 5000. */
  timeoutMs?: number;
  /** Multicast messages (seq 0 or from a group): events. */
  onEvent?: (m: NlMessage) => void;
  /** Undecodable datagrams and receive errors (ENOBUFS: events were lost, resync with a dump). */
  onProblem?: (p: { kind: "decode"; reason: string } | { kind: "recv"; error: ErrnoError }) => void;
}

export class NetlinkConnection {
  readonly socket: DatagramSocket;
  #seq: number;
  #pending = new Map<number, Pending>();
  #batchSeqs = new Map<number, { batch: PendingBatch; index: number }>();
  #dumps: Promise<unknown> = Promise.resolve();
  #opts: NetlinkConnectionOptions;

  /** Binds (pid 0: kernel-assigned; legacy `groups` mask) and starts reading. */
  constructor(socket: DatagramSocket, opts: NetlinkConnectionOptions & { groups?: number; extAck?: boolean } = {}) {
    if (socket.domain !== AF_NETLINK) throw new Error("NetlinkConnection needs an AF_NETLINK socket");
    this.socket = socket;
    this.#opts = opts;
    this.#seq = Math.floor(Date.now() / 1000) & 0x7fffffff;
    socket.bind({ pid: 0, groups: opts.groups ?? 0 });
    if (opts.extAck !== false) {
      try {
        socket.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1);
      } catch {
        /* old kernels: errors come without text */
      }
    }
    socket.onMessage(
      (d) => this.#onDatagram(d.data, d.from !== null && "groups" in d.from ? d.from.groups : 0),
      (e) => {
        // ENOBUFS: answers were dropped; a batch cannot tell which, so it ends now (see #lost)
        if (e.code === "ENOBUFS") this.#lost();
        this.#opts.onProblem?.({ kind: "recv", error: e });
      },
    );
  }

  /** Joins a multicast group by number (RTNLGRP_*, or a genl group id). */
  joinGroup(group: number): void {
    this.socket.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group);
  }

  nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0 || 1;
    return this.#seq;
  }

  /** Sends one encoded request (its seq must come from nextSeq()) and resolves with the replies:
   * for a dump, every part until NLMSG_DONE; otherwise until the ACK (if NLM_F_ACK was set) or
   * the first reply. Send errors resolve as { ok: false } too. Dumps wait for the previous dump
   * on this socket to finish; other requests go at once. */
  request(encoded: Buffer): Promise<NlResult> {
    const h = decodeHeader(encoded);
    if (!h.ok) return Promise.resolve({ ok: false, errno: 22, code: "EINVAL", message: "request shorter than nlmsghdr", messages: [] });
    if ((h.value.flags & NLM_F_DUMP) === NLM_F_DUMP) {
      // The kernel runs one dump per socket at a time and answers a second with EBUSY: queue them.
      const run = this.#dumps.then(() => this.#send(encoded, h.value.seq, h.value.flags));
      this.#dumps = run;
      return run;
    }
    return this.#send(encoded, h.value.seq, h.value.flags);
  }

  #send(encoded: Buffer, seq: number, flags: number): Promise<NlResult> {
    if (this.socket.closed) return Promise.resolve({ ok: false, errno: 125, code: "ECANCELED", messages: [] });
    return new Promise<NlResult>((resolve) => {
      const p: Pending = { seq, expectAck: (flags & NLM_F_ACK) !== 0, messages: [], interrupted: false, resolve, timer: undefined };
      const timeoutMs = this.#opts.timeoutMs ?? 5000;
      p.timer = setTimeout(() => this.#finish(p, { ok: false, errno: 110, code: "ETIMEDOUT", messages: p.messages }), timeoutMs);
      this.#pending.set(seq, p);
      try {
        this.socket.send(encoded, { pid: 0, groups: 0 });
      } catch (e) {
        const err = e as ErrnoError;
        this.#finish(p, { ok: false, errno: err.errno ?? 0, code: err.code ?? "EIO", message: err.message, messages: [] });
      }
    });
  }

  /** Sends many non-dump requests (each from nextSeq(), each encoded alone) packed into as few
   * datagrams as `maxBytes` allows, and resolves with one result per request, in order, once the
   * last one has answered. The kernel runs every message of a datagram in order and carries on
   * after one fails, so a batch is never cut short by an error: each failing request has its own
   * result with its errno. The caller bounds the batch so that every answer it may get fits in the
   * socket's receive buffer; if answers are lost anyway (ENOBUFS), the batch resolves at once and
   * the requests that had not answered get ENOBUFS (unknown outcome: read the state again). */
  requestBatch(encoded: readonly Buffer[], opts: BatchOptions = {}): Promise<NlResult[]> {
    if (encoded.length === 0) return Promise.resolve([]);
    let b: EncodedBatch;
    try {
      b = encodeBatch(encoded, { maxBytes: opts.maxBytes ?? 65536, acks: opts.acks ?? "errors" });
    } catch (e) {
      return Promise.resolve(encoded.map(() => ({ ok: false as const, errno: 22, code: "EINVAL", message: (e as Error).message, messages: [] })));
    }
    return this.requestPacked(b);
  }

  /** requestBatch for requests already packed into datagrams (encodeBatch's form, or a
   * BatchWriter's, which writes them in place): one result per message, in order. */
  requestPacked(b: EncodedBatch): Promise<NlResult[]> {
    if (b.seqs.length === 0) return Promise.resolve([]);
    const refuse = (errno: number, code: string, message?: string): Promise<NlResult[]> =>
      Promise.resolve(b.seqs.map(() => ({ ok: false as const, errno, code, ...(message ? { message } : {}), messages: [] })));
    if (this.socket.closed) return refuse(125, "ECANCELED");
    try {
      const seen = new Set<number>();
      for (const [i, seq] of b.seqs.entries()) {
        if (seq === 0 || seen.has(seq) || this.#pending.has(seq) || this.#batchSeqs.has(seq)) throw new Error(`seq ${seq} of batch message ${i} is 0 or already in use`);
        seen.add(seq);
      }
      for (const d of b.datagrams) {
        for (let off = 0; off + NLMSG_HDRLEN <= d.length; ) {
          if ((d.readUInt16LE(off + 6) & NLM_F_DUMP) === NLM_F_DUMP) throw new Error(`batch message with seq ${d.readUInt32LE(off + 8)} is a dump`);
          off += align4(Math.max(NLMSG_HDRLEN, d.readUInt32LE(off)));
        }
      }
    } catch (e) {
      return refuse(22, "EINVAL", (e as Error).message);
    }
    const { datagrams, starts, seqs, acked } = b;
    return new Promise<NlResult[]>((resolve) => {
      const batch: PendingBatch = { results: seqs.map(() => undefined), replies: seqs.map(() => []), acked, awaiting: acked.filter(Boolean).length, seqs, resolve, timer: undefined, done: false };
      for (const [index, seq] of seqs.entries()) this.#batchSeqs.set(seq, { batch, index });
      const timeoutMs = this.#opts.timeoutMs ?? 5000;
      batch.timer = setTimeout(() => this.#finishBatch(batch, { ok: false, errno: 110, code: "ETIMEDOUT" }), timeoutMs);
      for (const [k, d] of datagrams.entries()) {
        try {
          this.socket.send(d, { pid: 0, groups: 0 });
        } catch (e) {
          // this datagram and those after it never reached the kernel; those before did, each
          // ends with an acked message, and answer as usual
          const err = e as ErrnoError;
          const failed: NlResult = { ok: false, errno: err.errno ?? 0, code: err.code ?? "EIO", message: `not sent: ${err.message}`, messages: [] };
          for (let i = starts[k]!; i < seqs.length; i++) this.#answer(batch, i, failed);
          return;
        }
      }
    });
  }

  /** Pending requests resolve with ECANCELED; the socket is closed. */
  close(): void {
    for (const p of [...this.#pending.values()]) this.#finish(p, { ok: false, errno: 125, code: "ECANCELED", messages: p.messages });
    for (const { batch } of [...this.#batchSeqs.values()]) this.#finishBatch(batch, { ok: false, errno: 125, code: "ECANCELED" });
    this.socket.close();
  }

  /** One answer for message `index` of a batch; the batch resolves when nothing more is awaited. */
  #answer(batch: PendingBatch, index: number, r: NlResult): void {
    if (batch.done || batch.results[index] !== undefined) return;
    batch.results[index] = r;
    if (batch.acked[index]) batch.awaiting--;
    if (batch.awaiting === 0) this.#finishBatch(batch, undefined);
  }

  /** Resolves a batch: a message that did not answer succeeded if the batch completed
   * (`unanswered` undefined: the kernel answers in order), otherwise it gets `unanswered`. */
  #finishBatch(batch: PendingBatch, unanswered: Omit<NlResult & { ok: false }, "messages"> | undefined): void {
    if (batch.done) return;
    batch.done = true;
    if (batch.timer) clearTimeout(batch.timer);
    for (const seq of batch.seqs) this.#batchSeqs.delete(seq);
    batch.resolve(
      batch.results.map((r, i) => r ?? (unanswered ? { ...unanswered, messages: batch.replies[i]! } : { ok: true, messages: batch.replies[i]!, interrupted: false })),
    );
  }

  /** The kernel dropped answers (receive buffer overrun): every batch in flight ends now. */
  #lost(): void {
    const batches = new Set([...this.#batchSeqs.values()].map((x) => x.batch));
    for (const b of batches) this.#finishBatch(b, LOST);
  }

  #finish(p: Pending, r: NlResult): void {
    if (this.#pending.get(p.seq) !== p) return;
    this.#pending.delete(p.seq);
    if (p.timer) clearTimeout(p.timer);
    p.resolve(r);
  }

  /** `groups` is the source address's group mask: non-zero for multicast, which is always an
   * event, even when it carries our own seq (the kernel echoes the request's seq and pid in the
   * notification of a change we made). */
  #onDatagram(data: Buffer, groups: number): void {
    const msgs = decodeMessages(data);
    if (!msgs.ok) {
      this.#opts.onProblem?.({ kind: "decode", reason: `${msgs.reason}: ${msgs.detail ?? ""}` });
      return;
    }
    for (const m of msgs.value) {
      const inBatch = m.seq !== 0 && groups === 0 ? this.#batchSeqs.get(m.seq) : undefined;
      if (inBatch) {
        this.#batchReply(inBatch.batch, inBatch.index, m);
        continue;
      }
      const p = m.seq !== 0 && groups === 0 ? this.#pending.get(m.seq) : undefined;
      if (!p) {
        if (m.type !== NLMSG_NOOP && m.type !== NLMSG_OVERRUN) this.#opts.onEvent?.(m);
        continue;
      }
      if (m.flags & NLM_F_DUMP_INTR) p.interrupted = true;
      if (m.type === NLMSG_ERROR) {
        const e = decodeError(m);
        if (!e.ok) {
          this.#finish(p, { ok: false, errno: 5, code: "EIO", message: "undecodable NLMSG_ERROR", messages: p.messages });
        } else if (e.value.ack) {
          this.#finish(p, { ok: true, messages: p.messages, interrupted: p.interrupted });
        } else {
          const r: NlResult = { ok: false, errno: e.value.errno, code: e.value.code, messages: p.messages };
          if (e.value.message !== undefined) r.message = e.value.message;
          this.#finish(p, r);
        }
        continue;
      }
      if (m.type === NLMSG_DONE) {
        this.#finish(p, { ok: true, messages: p.messages, interrupted: p.interrupted });
        continue;
      }
      p.messages.push({ ...m, payload: Buffer.from(m.payload) });
      if (!(m.flags & NLM_F_MULTI) && !p.expectAck) this.#finish(p, { ok: true, messages: p.messages, interrupted: p.interrupted });
    }
  }

  #batchReply(batch: PendingBatch, index: number, m: NlMessage): void {
    const replies = batch.replies[index]!;
    if (m.type !== NLMSG_ERROR) {
      replies.push({ ...m, payload: Buffer.from(m.payload) });
      // like request(): without NLM_F_ACK the first reply that is not part of a dump is the answer
      if (!batch.acked[index] && !(m.flags & NLM_F_MULTI)) this.#answer(batch, index, { ok: true, messages: replies, interrupted: false });
      return;
    }
    const e = decodeError(m);
    if (!e.ok) this.#answer(batch, index, { ok: false, errno: 5, code: "EIO", message: "undecodable NLMSG_ERROR", messages: replies });
    else if (e.value.ack) this.#answer(batch, index, { ok: true, messages: replies, interrupted: false });
    else {
      const r: NlResult = { ok: false, errno: e.value.errno, code: e.value.code, messages: replies };
      if (e.value.message !== undefined) r.message = e.value.message;
      this.#answer(batch, index, r);
    }
  }
}
