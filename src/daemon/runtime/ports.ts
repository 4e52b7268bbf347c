// The small interfaces the VRRP runtime talks through (STYLE.md habit 3). Real adapters sit in
// this folder (netlink-addresses.ts, raw-channel.ts, garp.ts, notify.ts); hand-written fakes are
// in fakes.ts. The engine (engine.ts) knows only these.

/** A monotonic clock with one-shot timers at absolute deadlines (ms). */
export interface Clock {
  now(): number;
  /** Runs `cb` at (or as soon as possible after) `at`. */
  at(at: number, cb: () => void): TimerHandle;
  cancel(h: TimerHandle): void;
}
export type TimerHandle = { readonly __timer?: never } & object;

/** What the engine hands the channel to send. */
export interface OutgoingAdvert {
  ifname: string;
  vrid: number;
  version: 2 | 3;
  priority: number;
  intervalMs: number;
  /** The VIPs advertised (IPv4 dotted). */
  addresses: string[];
  /** Our primary address (IP source). */
  source: string;
  /** v2 auth_type PASS: up to 8 octets. */
  authPass?: string;
  /** Empty: multicast to 224.0.0.18 on `ifname`. */
  unicastPeers: string[];
}

/** An advert as decoded from the wire, before the per-instance checks (vrrp/filter.ts). */
export interface IncomingAdvert {
  ifname: string;
  source: string;
  /** IP destination (224.0.0.18 or our unicast address). */
  destination?: string;
  ttl: number;
  version: 2 | 3;
  vrid: number;
  priority: number;
  /** v2: seconds * 1000; v3: centiseconds * 10. */
  intervalMs: number;
  addresses: string[];
  /** v2 only: 0 none, 1 PASS (simple text), 2 AH. */
  authType: number;
  /** v2 PASS: the 8 octets of auth data. */
  authData?: Buffer;
  /** v3: which checksum form matched: "pseudo" (RFC 5798 §5.2.8, over the IPv4 pseudo-header,
   * what keepalived 2.2.7 requires) or "message" (the pseudo-header left out). Absent: pseudo. */
  checksum?: "pseudo" | "message";
}

/** A packet the channel itself refused (IP/VRRP wire checks); `reason` is a stable label. */
export interface WireReject {
  ifname?: string;
  source?: string;
  reason: string;
  detail?: string;
}

/** What the channel must listen for: one entry per instance. */
export interface ChannelEndpoint {
  ifname: string;
  vrid: number;
  version: 2 | 3;
  source: string;
  unicastPeers: string[];
}

export interface AdvertChannel {
  /** (Re)declares every endpoint to listen and send on; joins/leaves multicast as needed. */
  configure(endpoints: ChannelEndpoint[]): Promise<void>;
  send(a: OutgoingAdvert): void;
  onAdvert(cb: (a: IncomingAdvert) => void): void;
  onReject(cb: (r: WireReject) => void): void;
  close(): void;
}

export interface VipAddress {
  ifname: string;
  address: string;
  prefix: number;
  label?: string;
}

export interface AddressManager {
  /** Idempotent: already present is success. Resolves false (and logs) on failure. */
  add(v: VipAddress): Promise<boolean>;
  /** Idempotent: already absent is success. */
  del(v: VipAddress): Promise<boolean>;
  /** IPv4 addresses on every interface. */
  list(): Promise<Array<{ ifname: string; address: string; prefix: number; secondary: boolean }>>;
}

export interface LinkState {
  ifname: string;
  up: boolean;
}

/** Kernel events the engine reacts to: link up/down and addresses removed by someone. */
export interface NetEvents {
  links(): Promise<LinkState[]>;
  onLink(cb: (l: LinkState) => void): void;
  onAddressDeleted(cb: (v: { ifname: string; address: string; prefix: number }) => void): void;
  /** Events were lost (netlink ENOBUFS): link changes are re-emitted by the adapter; the engine
   * re-checks its VIPs. */
  onResync(cb: () => void): void;
  close(): void;
}

export interface GarpSender {
  /** Sends `count` gratuitous ARP requests for each address, out of `ifname`. */
  send(ifname: string, addresses: string[], count: number): Promise<void>;
  close(): void;
}

export interface NotifyRunner {
  /** Runs argv (no shell); never throws; resolves with the exit code (null: killed / failed). */
  run(argv: string[], meta: Record<string, unknown>): Promise<number | null>;
}
