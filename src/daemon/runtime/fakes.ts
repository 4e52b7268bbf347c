// Hand-written fakes of the runtime ports, for unit tests and the in-worker loopback mode of the
// timing test. No sockets, no root.
import { AUTH_NONE, AUTH_PASS, passAuthData } from "../vrrp/packet.js";
import type {
  AddressManager,
  AdvertChannel,
  ChannelEndpoint,
  Clock,
  GarpSender,
  IncomingAdvert,
  LinkState,
  NetEvents,
  NotifyRunner,
  OutgoingAdvert,
  TimerHandle,
  VipAddress,
  WireReject,
} from "./ports.js";

/** A clock that only moves when told to; timers fire in deadline order. */
export class FakeClock implements Clock {
  #now = 0;
  #seq = 0;
  #timers = new Map<number, { at: number; cb: () => void }>();
  now(): number {
    return this.#now;
  }
  at(at: number, cb: () => void): TimerHandle {
    const id = ++this.#seq;
    this.#timers.set(id, { at, cb });
    return { id } as TimerHandle;
  }
  cancel(h: TimerHandle): void {
    this.#timers.delete((h as { id: number }).id);
  }
  /** Advances to now+ms, firing every timer due on the way (including ones armed meanwhile). */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      let best: [number, { at: number; cb: () => void }] | undefined;
      for (const e of this.#timers) if (e[1].at <= until && (!best || e[1].at < best[1].at || (e[1].at === best[1].at && e[0] < best[0]))) best = e;
      if (!best) break;
      this.#timers.delete(best[0]);
      this.#now = Math.max(this.#now, best[1].at);
      best[1].cb();
    }
    this.#now = until;
  }
  pending(): number {
    return this.#timers.size;
  }
}

/** Joins FakeChannels into one segment: a send reaches every other channel on the same ifname group. */
export class FakeSegment {
  readonly channels = new Set<FakeChannel>();
  /** Partitioned channels neither send nor receive. */
  readonly cut = new Set<FakeChannel>();
  ttl = 255;
  deliver(from: FakeChannel, a: OutgoingAdvert): void {
    if (this.cut.has(from)) return;
    for (const c of this.channels) {
      if (c === from || this.cut.has(c)) continue;
      c.receive({
        ifname: c.ifnameFor(a.ifname),
        source: a.source,
        ttl: this.ttl,
        version: a.version,
        vrid: a.vrid,
        priority: a.priority,
        intervalMs: a.intervalMs,
        addresses: a.addresses,
        authType: a.authPass !== undefined ? AUTH_PASS : AUTH_NONE,
        ...(a.authPass !== undefined ? { authData: passAuthData(a.authPass) } : {}),
      });
    }
  }
}

export class FakeChannel implements AdvertChannel {
  readonly sent: Array<OutgoingAdvert & { at: number }> = [];
  endpoints: ChannelEndpoint[] = [];
  #onAdvert: ((a: IncomingAdvert) => void) | undefined;
  #onReject: ((r: WireReject) => void) | undefined;
  closed = false;
  constructor(
    private readonly clock: Clock,
    private readonly segment?: FakeSegment,
    /** Rename interfaces on receive (two engines with different interface names on one segment). */
    private readonly rename: (ifname: string) => string = (x) => x,
  ) {
    segment?.channels.add(this);
  }
  ifnameFor(ifname: string): string {
    return this.rename(ifname);
  }
  async configure(endpoints: ChannelEndpoint[]): Promise<void> {
    this.endpoints = endpoints;
  }
  send(a: OutgoingAdvert): void {
    this.sent.push({ ...a, at: this.clock.now() });
    this.segment?.deliver(this, a);
  }
  onAdvert(cb: (a: IncomingAdvert) => void): void {
    this.#onAdvert = cb;
  }
  onReject(cb: (r: WireReject) => void): void {
    this.#onReject = cb;
  }
  receive(a: IncomingAdvert): void {
    this.#onAdvert?.(a);
  }
  reject(r: WireReject): void {
    this.#onReject?.(r);
  }
  close(): void {
    this.closed = true;
    this.segment?.channels.delete(this);
  }
}

export class FakeAddresses implements AddressManager {
  readonly present = new Map<string, VipAddress & { secondary: boolean }>();
  readonly ops: string[] = [];
  failNext = false;
  /** When set, add() waits for it: a slow netlink round trip. */
  gate: Promise<void> | undefined;
  static key(v: { ifname: string; address: string }): string {
    return `${v.address}@${v.ifname}`;
  }
  seed(ifname: string, address: string, prefix: number, secondary = false): void {
    this.present.set(FakeAddresses.key({ ifname, address }), { ifname, address, prefix, secondary });
  }
  has(ifname: string, address: string): boolean {
    return this.present.has(FakeAddresses.key({ ifname, address }));
  }
  async add(v: VipAddress): Promise<boolean> {
    this.ops.push(`add ${v.address}/${v.prefix} ${v.ifname}`);
    if (this.gate) await this.gate;
    if (this.failNext) {
      this.failNext = false;
      return false;
    }
    this.present.set(FakeAddresses.key(v), { ...v, secondary: true });
    return true;
  }
  async del(v: VipAddress): Promise<boolean> {
    this.ops.push(`del ${v.address}/${v.prefix} ${v.ifname}`);
    this.present.delete(FakeAddresses.key(v));
    return true;
  }
  async list(): Promise<Array<{ ifname: string; address: string; prefix: number; secondary: boolean }>> {
    return [...this.present.values()].map((v) => ({ ifname: v.ifname, address: v.address, prefix: v.prefix, secondary: v.secondary }));
  }
}

export class FakeNet implements NetEvents {
  readonly linkState = new Map<string, boolean>();
  #onLink: ((l: LinkState) => void) | undefined;
  #onDel: ((v: { ifname: string; address: string; prefix: number }) => void) | undefined;
  constructor(ifnames: string[] = ["eth0"]) {
    for (const i of ifnames) this.linkState.set(i, true);
  }
  async links(): Promise<LinkState[]> {
    return [...this.linkState].map(([ifname, up]) => ({ ifname, up }));
  }
  onLink(cb: (l: LinkState) => void): void {
    this.#onLink = cb;
  }
  onAddressDeleted(cb: (v: { ifname: string; address: string; prefix: number }) => void): void {
    this.#onDel = cb;
  }
  setLink(ifname: string, up: boolean): void {
    this.linkState.set(ifname, up);
    this.#onLink?.({ ifname, up });
  }
  addressDeleted(ifname: string, address: string, prefix: number): void {
    this.#onDel?.({ ifname, address, prefix });
  }
  #onResync: (() => void) | undefined;
  onResync(cb: () => void): void {
    this.#onResync = cb;
  }
  resync(): void {
    this.#onResync?.();
  }
  close(): void {}
}

export class FakeGarp implements GarpSender {
  readonly sent: Array<{ ifname: string; addresses: string[]; count: number }> = [];
  async send(ifname: string, addresses: string[], count: number): Promise<void> {
    this.sent.push({ ifname, addresses, count });
  }
  close(): void {}
}

export class FakeNotify implements NotifyRunner {
  readonly runs: string[][] = [];
  async run(argv: string[]): Promise<number | null> {
    this.runs.push(argv);
    return 0;
  }
}
