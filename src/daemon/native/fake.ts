// Hand-written fakes of the socket layer for unit tests (no addon, no root).
//
// FakeSocket records what was sent and lets a test deliver datagrams; `respond` turns it into a
// fake kernel (e.g. answer netlink requests). FakeHub joins sockets into one broadcast domain so
// two VRRP engines can hear each other; FakeSocketFactory hands out FakeSockets.

import type {
  Ancillary,
  Datagram,
  DatagramSocket,
  ErrnoError,
  ErrorHandler,
  InterfaceLookup,
  MessageHandler,
  SockAddr,
  SocketFactory,
} from "./types.js";

export interface SentDatagram {
  data: Buffer;
  dest: SockAddr | string | undefined;
}

export function errnoError(code: string, errno: number, syscall = "sendto"): ErrnoError {
  const e = new Error(`${syscall}: ${code}`) as ErrnoError;
  e.code = code;
  e.errno = errno;
  e.syscall = syscall;
  return e;
}

export class FakeSocket implements DatagramSocket {
  readonly domain: number;
  readonly type: number;
  readonly protocol: number;
  readonly netns: string | undefined;
  readonly sent: SentDatagram[] = [];
  readonly options: { level: number; name: number; value: number | Buffer }[] = [];
  bound: SockAddr | undefined;
  /** What localAddress() returns (a netlink fake sets a pid here). */
  local: SockAddr | null = null;
  /** Called on every send after recording it; may call `deliver` to answer. Throw to fail send. */
  respond: ((d: SentDatagram, sock: FakeSocket) => void) | undefined;
  /** Error thrown by the next send (then cleared), to simulate EAGAIN/ENOBUFS/EPERM. */
  failNextSend: ErrnoError | undefined;
  hub: FakeHub | undefined;
  #handler: MessageHandler | undefined;
  #onError: ErrorHandler | undefined;
  #reading = false;
  #closed = false;
  /** Datagrams delivered while paused wait here, as in a kernel receive queue. */
  readonly queue: Datagram[] = [];

  constructor(domain: number, type = 3, protocol = 0, netns?: string) {
    this.domain = domain;
    this.type = type;
    this.protocol = protocol;
    this.netns = netns;
  }

  get closed(): boolean {
    return this.#closed;
  }
  get reading(): boolean {
    return this.#reading;
  }

  bind(addr: SockAddr): void {
    this.#live();
    this.bound = addr;
  }
  setsockopt(level: number, name: number, value: number | Buffer): void {
    this.#live();
    this.options.push({ level, name, value });
  }
  /** The last value set for (level, name), or zeros. */
  getsockopt(level: number, name: number, length: number): Buffer {
    this.#live();
    const v = this.option(level, name);
    const out = Buffer.alloc(length);
    if (v === undefined) return out;
    if (typeof v === "number") {
      if (length >= 4) out.writeInt32LE(v, 0);
    } else v.copy(out, 0, 0, length);
    return out;
  }
  /** The last value set for (level, name), or undefined. */
  option(level: number, name: number): number | Buffer | undefined {
    return [...this.options].reverse().find((x) => x.level === level && x.name === name)?.value;
  }
  localAddress(): SockAddr | null {
    return this.local;
  }
  send(data: Buffer, dest?: SockAddr | string): number {
    this.#live();
    if (this.failNextSend) {
      const e = this.failNextSend;
      this.failNextSend = undefined;
      throw e;
    }
    const d = { data: Buffer.from(data), dest };
    this.sent.push(d);
    this.respond?.(d, this);
    this.hub?.carry(this, d);
    return data.length;
  }
  onMessage(handler: MessageHandler, onError?: ErrorHandler): void {
    this.#live();
    this.#handler = handler;
    this.#onError = onError;
    this.#reading = true;
    while (this.#reading && this.queue.length > 0) this.#handler(this.queue.shift()!);
  }
  pause(): void {
    this.#reading = false;
  }
  close(): void {
    this.#closed = true;
    this.#reading = false;
    this.hub?.leave(this);
  }

  /** Delivers one datagram synchronously (or queues it while paused). Ignored once closed. */
  deliver(data: Buffer, from: SockAddr | null = null, ancillary: Ancillary = {}, truncated = false): void {
    if (this.#closed) return;
    const d: Datagram = { data: Buffer.from(data), from, ancillary, truncated };
    if (this.#reading && this.#handler) this.#handler(d);
    else this.queue.push(d);
  }
  /** Delivers a receive error (e.g. ENOBUFS) to the error handler. */
  deliverError(e: ErrnoError): void {
    if (!this.#closed && this.#reading) this.#onError?.(e);
  }

  #live(): void {
    if (this.#closed) throw errnoError("EBADF", 9, "fake");
  }
}

/** A broadcast domain: what one member sends, every other member receives, with the sender's
 * `address`, `ifindex` and the destination as ancillary data. */
export class FakeHub {
  readonly members = new Map<FakeSocket, { address: string; ifindex: number }>();
  /** Drop everything while true (a cut link). */
  cut = false;

  join(sock: FakeSocket, address: string, ifindex = 2): FakeSocket {
    this.members.set(sock, { address, ifindex });
    sock.hub = this;
    return sock;
  }
  leave(sock: FakeSocket): void {
    this.members.delete(sock);
  }
  carry(from: FakeSocket, d: SentDatagram): void {
    if (this.cut) return;
    const src = this.members.get(from);
    if (!src) return;
    const dst = typeof d.dest === "string" ? d.dest : d.dest && "address" in d.dest ? d.dest.address : undefined;
    for (const [sock, me] of this.members) {
      if (sock === from) continue;
      if (dst !== undefined && !dst.startsWith("224.") && dst !== me.address) continue;
      sock.deliver(d.data, { address: src.address, port: 0 }, { ifindex: me.ifindex, ...(dst ? { dst } : {}) });
    }
  }
}

export class FakeSocketFactory implements SocketFactory {
  readonly opened: FakeSocket[] = [];
  /** Called for every new socket (to set `respond`, join a hub...). */
  onOpen: ((s: FakeSocket) => void) | undefined;
  /** Error thrown by the next open (e.g. EPERM when not root). */
  failNextOpen: ErrnoError | undefined;

  open(domain: number, type: number, protocol: number, opts?: { netns?: string }): FakeSocket {
    if (this.failNextOpen) {
      const e = this.failNextOpen;
      this.failNextOpen = undefined;
      throw e;
    }
    const s = new FakeSocket(domain, type, protocol, opts?.netns);
    this.opened.push(s);
    this.onOpen?.(s);
    return s;
  }
}

/** A fixed table of interfaces. */
export class FakeInterfaces implements InterfaceLookup {
  constructor(readonly table: { name: string; index: number; mac: Buffer }[]) {}
  nameToIndex(name: string): number {
    const i = this.table.find((x) => x.name === name);
    if (!i) throw errnoError("ENODEV", 19, "if_nametoindex");
    return i.index;
  }
  indexToName(index: number): string {
    const i = this.table.find((x) => x.index === index);
    if (!i) throw errnoError("ENXIO", 6, "if_indextoname");
    return i.name;
  }
  hwAddr(name: string): Buffer {
    const i = this.table.find((x) => x.name === name);
    if (!i) throw errnoError("ENODEV", 19, "ioctl(SIOCGIFHWADDR)");
    return Buffer.from(i.mac);
  }
}
