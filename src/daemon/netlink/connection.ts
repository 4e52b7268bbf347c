// A netlink conversation over any DatagramSocket (the real RawSocket or a FakeSocket): requests
// matched to replies by sequence number, dumps collected until NLMSG_DONE, errors turned into
// typed results, and multicast events handed to a listener. No addon import here: the caller
// opens the socket (so tests pass a fake kernel).

import type { DatagramSocket, ErrnoError } from "../native/types.js";
import { AF_NETLINK, NETLINK_ADD_MEMBERSHIP, NETLINK_EXT_ACK, SOL_NETLINK } from "../native/constants.js";
import {
  decodeError,
  decodeHeader,
  decodeMessages,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  type NlMessage,
} from "./message.js";

/** The outcome of one request: replies (possibly none) or the kernel's errno. Never thrown. */
export type NlResult =
  | { ok: true; messages: NlMessage[]; interrupted: boolean }
  | { ok: false; errno: number; code: string; message?: string; messages: NlMessage[] };

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
      (e) => this.#opts.onProblem?.({ kind: "recv", error: e }),
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

  /** Pending requests resolve with ECANCELED; the socket is closed. */
  close(): void {
    for (const p of [...this.#pending.values()]) this.#finish(p, { ok: false, errno: 125, code: "ECANCELED", messages: p.messages });
    this.socket.close();
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
}
