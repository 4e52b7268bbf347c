// The kernel side of the runtime over rtnetlink: VIP add/delete/list (AddressManager) and link and
// address events (NetEvents), on two NETLINK_ROUTE sockets: one for requests, one subscribed to
// RTNLGRP_LINK and RTNLGRP_IPV4_IFADDR (wire-formats.md) so replies and events never mix. Also the
// gratuitous ARP sender (AF_PACKET) and the notify-script runner.
import { spawn } from "node:child_process";
import { encodeGratuitousArp, BROADCAST_MAC, ETH_P_ARP } from "../arp/index.js";
import type { Logger } from "../log.js";
import { AF_NETLINK, AF_PACKET, NETLINK_ROUTE, SOCK_RAW, type DatagramSocket, type InterfaceLookup, type SocketFactory } from "../native/index.js";
import {
  AF_INET,
  decodeAddr,
  decodeLink,
  IFA_F_SECONDARY,
  NetlinkConnection,
  RouteClient,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_NEWLINK,
  RTMGRP_IPV4_IFADDR,
  RTMGRP_LINK,
  type LinkInfo,
} from "../netlink/index.js";
import type { AddressManager, GarpSender, LinkState, NetEvents, NotifyRunner, VipAddress } from "./ports.js";

/** A link counts as up when administratively up and running (carrier): IFF_UP and IFF_RUNNING. */
export function linkUp(l: Pick<LinkInfo, "up" | "running">): boolean {
  return l.up && l.running;
}

export class Kernel implements AddressManager, NetEvents {
  readonly #route: RouteClient;
  readonly #events: NetlinkConnection;
  #names = new Map<number, string>();
  #lastUp = new Map<string, boolean>();
  #onLink: ((l: LinkState) => void) | undefined;
  #onDel: ((v: { ifname: string; address: string; prefix: number }) => void) | undefined;
  // Requests share one socket without a queue here: NetlinkConnection matches replies by sequence
  // number and runs dumps one at a time itself (the kernel answers a second concurrent dump with
  // EBUSY); rtnetlink handles a socket's requests in the order they are sent.

  constructor(
    sockets: SocketFactory,
    private readonly interfaces: InterfaceLookup,
    private readonly log: Logger,
  ) {
    this.#route = new RouteClient(new NetlinkConnection(sockets.open(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)));
    this.#events = new NetlinkConnection(sockets.open(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), {
      groups: RTMGRP_LINK | RTMGRP_IPV4_IFADDR,
      onEvent: (m) => {
        if (m.type === RTM_NEWLINK || m.type === RTM_DELLINK) {
          const d = decodeLink(m);
          if (!d.ok) return;
          const l = d.value;
          if (l.name) this.#names.set(l.ifindex, l.name);
          const name = l.name ?? this.#names.get(l.ifindex);
          if (!name) return;
          const up = l.event === "new" && linkUp(l);
          // a deleted link's index may come back for another interface: forget the mapping
          if (l.event === "del") this.#names.delete(l.ifindex);
          if (this.#lastUp.get(name) === up) return;
          this.#lastUp.set(name, up);
          this.#onLink?.({ ifname: name, up });
        } else if (m.type === RTM_DELADDR) {
          const d = decodeAddr(m);
          if (!d.ok || d.value.family !== AF_INET) return;
          const address = d.value.local ?? d.value.address;
          const ifname = this.#name(d.value.ifindex);
          if (address && ifname) this.#onDel?.({ ifname, address, prefix: d.value.prefix });
        }
      },
      onProblem: (p) => {
        this.log.warn("netlink event problem", p.kind === "recv" ? { error: p.error } : { reason: p.reason });
        // ENOBUFS: the kernel dropped events for us; re-read the links and let the engine re-check.
        if (p.kind === "recv" && p.error.code === "ENOBUFS") void this.#resync();
      },
    });
  }

  #name(ifindex: number): string | undefined {
    let n = this.#names.get(ifindex);
    if (n === undefined) {
      try {
        n = this.interfaces.indexToName(ifindex);
        this.#names.set(ifindex, n);
      } catch {
        return undefined;
      }
    }
    return n;
  }

  #index(ifname: string): number {
    for (const [i, n] of this.#names) if (n === ifname) return i;
    const i = this.interfaces.nameToIndex(ifname);
    this.#names.set(i, ifname);
    return i;
  }

  async add(v: VipAddress): Promise<boolean> {
    const r = await this.#route.addAddress({ ifindex: this.#index(v.ifname), address: v.address, prefix: v.prefix, ...(v.label ? { label: v.label } : {}) });
    if (!r.ok) this.log.error("RTM_NEWADDR failed", { vip: `${v.address}/${v.prefix}`, dev: v.ifname, errno: r.code, detail: r.message });
    return r.ok;
  }

  async del(v: VipAddress): Promise<boolean> {
    const r = await this.#route.deleteAddress({ ifindex: this.#index(v.ifname), address: v.address, prefix: v.prefix, ...(v.label ? { label: v.label } : {}) });
    if (!r.ok) this.log.error("RTM_DELADDR failed", { vip: `${v.address}/${v.prefix}`, dev: v.ifname, errno: r.code, detail: r.message });
    // The kernel may hold a neighbour entry for the VIP itself, learnt from the peer's gratuitous
    // ARP while both directors had it (a handover overlaps). Once the VIP is gone that entry is
    // used to forward what still arrives for it, to the peer's MAC; if the peer has dropped the
    // VIP too, and holds the mirror entry, the two bounce each packet until its TTL runs out (seen
    // in the NAT lab: a burst of "time exceeded", EHOSTUNREACH at the client, for each request
    // during the handover). Without the entry the kernel asks by ARP, and forwards the packet to
    // whichever director answers, which is the new master as soon as it holds the VIP.
    if (r.ok) {
      const n = await this.#route.deleteNeighbour({ ifindex: this.#index(v.ifname), address: v.address });
      if (!n.ok) this.log.warn("RTM_DELNEIGH failed", { vip: v.address, dev: v.ifname, errno: n.code, detail: n.message });
    }
    return r.ok;
  }

  async list(): Promise<Array<{ ifname: string; address: string; prefix: number; secondary: boolean }>> {
    // Index -> name comes from the last link dump, the link events since, or if_indextoname(3)
    // for an index not seen yet; no second link dump here (start-up is a race against a backup).
    const r = await this.#route.listAddresses();
    if (!r.ok) throw new Error(`RTM_GETADDR dump failed: ${r.code}`);
    const out: Array<{ ifname: string; address: string; prefix: number; secondary: boolean }> = [];
    for (const a of r.items) {
      const ifname = this.#name(a.ifindex);
      const address = a.local ?? a.address;
      if (a.family !== AF_INET || !ifname || !address) continue;
      out.push({ ifname, address, prefix: a.prefix, secondary: (a.flags & IFA_F_SECONDARY) !== 0 });
    }
    return out;
  }

  async links(): Promise<LinkState[]> {
    const r = await this.#route.listLinks();
    if (!r.ok) throw new Error(`RTM_GETLINK dump failed: ${r.code}`);
    const out: LinkState[] = [];
    for (const l of r.items) {
      if (!l.name) continue;
      this.#names.set(l.ifindex, l.name);
      const up = linkUp(l);
      this.#lastUp.set(l.name, up);
      out.push({ ifname: l.name, up });
    }
    return out;
  }

  async #resync(): Promise<void> {
    const before = new Map(this.#lastUp);
    try {
      for (const l of await this.links()) if (before.get(l.ifname) !== l.up) this.#onLink?.(l);
    } catch (e) {
      this.log.error("netlink resync failed", { error: e });
    }
    this.#onResync?.();
  }

  #onResync: (() => void) | undefined;
  onResync(cb: () => void): void {
    this.#onResync = cb;
  }

  onLink(cb: (l: LinkState) => void): void {
    this.#onLink = cb;
  }
  onAddressDeleted(cb: (v: { ifname: string; address: string; prefix: number }) => void): void {
    this.#onDel = cb;
  }
  close(): void {
    this.#route.conn.close();
    this.#events.close();
  }
}

/** Gratuitous ARP on an AF_PACKET socket per interface (protocol 0: send only, nothing queued). */
export class PacketGarp implements GarpSender {
  #socks = new Map<string, { sock: DatagramSocket; ifindex: number; mac: Buffer }>();
  constructor(
    private readonly sockets: SocketFactory,
    private readonly interfaces: InterfaceLookup,
  ) {}
  async send(ifname: string, addresses: string[], count: number): Promise<void> {
    let s = this.#socks.get(ifname);
    if (!s) {
      s = { sock: this.sockets.open(AF_PACKET, SOCK_RAW, 0), ifindex: this.interfaces.nameToIndex(ifname), mac: this.interfaces.hwAddr(ifname) };
      this.#socks.set(ifname, s);
    }
    for (let k = 0; k < count; k++) {
      for (const ip of addresses) {
        s.sock.send(encodeGratuitousArp({ mac: s.mac, ip }), { ifindex: s.ifindex, protocol: ETH_P_ARP, addr: BROADCAST_MAC });
      }
    }
  }
  close(): void {
    for (const s of this.#socks.values()) s.sock.close();
    this.#socks.clear();
  }
}

/** Runs notify scripts without a shell (argv as configured); killed after `timeoutMs`. */
export class SpawnNotify implements NotifyRunner {
  constructor(
    private readonly log: Logger,
    private readonly timeoutMs = 30_000,
  ) {}
  run(argv: string[], meta: Record<string, unknown>): Promise<number | null> {
    return new Promise((resolve) => {
      const [cmd, ...args] = argv;
      if (!cmd) return resolve(null);
      let done = false;
      const child = spawn(cmd, args, { stdio: "ignore" });
      const timer = setTimeout(() => {
        this.log.warn("notify script timed out: killing it", { ...meta, argv });
        child.kill("SIGKILL");
      }, this.timeoutMs);
      timer.unref();
      const finish = (code: number | null, err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) this.log.error("notify script failed to start", { ...meta, argv, error: err });
        else if (code !== 0) this.log.warn("notify script exited non-zero", { ...meta, argv, code });
        else this.log.debug("notify script done", { ...meta, argv });
        resolve(code);
      };
      child.once("error", (e) => finish(null, e));
      child.once("exit", (code) => finish(code));
    });
  }
}
