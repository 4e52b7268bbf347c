// The real advert channel: one raw IPv4 socket (protocol 112) per interface, bound to the device,
// joined to 224.0.0.18 there when any instance on it uses multicast. We write the IP header
// ourselves (IP_HDRINCL), as keepalived does, so the source address is the instance's primary
// address and the TTL is 255 whatever the route says, with DF clear as in keepalived's
// vrrp_build_ip4() (frag_off 0); the v3 pseudo-header checksum is computed
// over that same source. Decoding and its reject reasons are vrrp/packet.ts's.
import {
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IPPROTO_IP,
  IPPROTO_VRRP,
  type DatagramSocket,
  type InterfaceLookup,
  type SocketFactory,
} from "../native/index.js";
import { encodeIpv4Header } from "../net/ipv4.js";
import { openVrrpSocket, VRRP_TOS } from "../net/sockets.js";
import { ipMreqn } from "../net/sockopt.js";
import { AUTH_NONE, AUTH_PASS, decodeVrrpPacket, encodeAdvert, passAuthData, VRRP_GROUP_V4, VRRP_TTL, VRRP_TYPE_ADVERT, type V3ChecksumMode } from "../vrrp/packet.js";
import type { AdvertChannel, ChannelEndpoint, IncomingAdvert, OutgoingAdvert, WireReject } from "./ports.js";

interface PerIf {
  ifname: string;
  ifindex: number;
  sock: DatagramSocket;
  joined: boolean;
}

export class RawAdvertChannel implements AdvertChannel {
  #ifs = new Map<string, PerIf>();
  #onAdvert: ((a: IncomingAdvert) => void) | undefined;
  #onReject: ((r: WireReject) => void) | undefined;
  #id = 0;

  constructor(
    private readonly sockets: SocketFactory,
    private readonly interfaces: InterfaceLookup,
    private readonly opts: { v3Checksum?: V3ChecksumMode } = {},
  ) {}

  async configure(endpoints: ChannelEndpoint[]): Promise<void> {
    const wanted = new Map<string, boolean>(); // ifname -> needs multicast
    for (const e of endpoints) wanted.set(e.ifname, (wanted.get(e.ifname) ?? false) || e.unicastPeers.length === 0);
    for (const [ifname, p] of this.#ifs) {
      if (!wanted.has(ifname)) {
        p.sock.close();
        this.#ifs.delete(ifname);
      }
    }
    for (const [ifname, multicast] of wanted) {
      let p = this.#ifs.get(ifname);
      if (!p) {
        p = this.#open(ifname);
        this.#ifs.set(ifname, p);
      }
      const mreq = ipMreqn(VRRP_GROUP_V4, p.ifindex);
      if (multicast && !p.joined) {
        p.sock.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq);
        p.joined = true;
      } else if (!multicast && p.joined) {
        p.sock.setsockopt(IPPROTO_IP, IP_DROP_MEMBERSHIP, mreq);
        p.joined = false;
      }
    }
  }

  #open(ifname: string): PerIf {
    const ifindex = this.interfaces.nameToIndex(ifname);
    // The group is joined (and dropped) by configure() as the instances on the interface change.
    const sock = openVrrpSocket(this.sockets, { ifname, ifindex, multicast: false, multicastTtl: VRRP_TTL, receiveBuffer: 1 << 20 });
    try {
      sock.onMessage(
        (d) => this.#receive(ifname, d.data),
        (e) => this.#onReject?.({ ifname, reason: "recv-error", detail: e.message }),
      );
    } catch (e) {
      sock.close();
      throw e;
    }
    return { ifname, ifindex, sock, joined: false };
  }

  #receive(ifname: string, data: Buffer): void {
    // TTL is checked per instance (vrrp/filter.ts), so it is counted against the instance.
    const r = decodeVrrpPacket(data, { checkTtl: false });
    if (!r.ok) {
      this.#onReject?.({ ifname, reason: r.reason, ...(r.detail !== undefined ? { detail: r.detail } : {}) });
      return;
    }
    // Both v3 checksum forms decode here; whether "message" is acceptable is the instance's
    // setting (v3ChecksumLenient), checked by vrrp/filter.ts with the other per-instance checks.
    const { advert, ip } = r.value;
    this.#onAdvert?.({
      ifname,
      source: ip.src,
      destination: ip.dst,
      ttl: ip.ttl,
      version: advert.version,
      vrid: advert.vrid,
      priority: advert.priority,
      intervalMs: advert.version === 2 ? advert.advertIntSec * 1000 : advert.maxAdvertIntCs * 10,
      addresses: advert.addresses,
      authType: advert.version === 2 ? advert.authType : 0,
      ...(advert.version === 2 ? { authData: advert.authData } : {}),
      ...(advert.version === 3 ? { checksum: r.value.checksumMode } : {}),
    });
  }

  send(a: OutgoingAdvert): void {
    const p = this.#ifs.get(a.ifname);
    if (!p) throw new Error(`no advert socket on ${a.ifname}`);
    const dests = a.unicastPeers.length > 0 ? a.unicastPeers : [VRRP_GROUP_V4];
    for (const dst of dests) {
      const vrrp =
        a.version === 2
          ? encodeAdvert({
              version: 2,
              type: VRRP_TYPE_ADVERT,
              vrid: a.vrid,
              priority: a.priority,
              addresses: a.addresses,
              authType: a.authPass !== undefined ? AUTH_PASS : AUTH_NONE,
              authData: a.authPass !== undefined ? passAuthData(a.authPass) : Buffer.alloc(8),
              advertIntSec: Math.round(a.intervalMs / 1000),
            })
          : encodeAdvert(
              { version: 3, type: VRRP_TYPE_ADVERT, vrid: a.vrid, priority: a.priority, addresses: a.addresses, maxAdvertIntCs: Math.round(a.intervalMs / 10) },
              { checksum: this.opts.v3Checksum ?? "pseudo", src: a.source, dst },
            );
      this.#id = (this.#id + 1) & 0xffff;
      const ip = encodeIpv4Header({ src: a.source, dst, protocol: IPPROTO_VRRP, payloadLength: vrrp.length, ttl: VRRP_TTL, tos: VRRP_TOS, id: this.#id, dontFragment: false });
      p.sock.send(Buffer.concat([ip, vrrp]), dst);
    }
  }

  onAdvert(cb: (a: IncomingAdvert) => void): void {
    this.#onAdvert = cb;
  }
  onReject(cb: (r: WireReject) => void): void {
    this.#onReject = cb;
  }
  close(): void {
    for (const p of this.#ifs.values()) p.sock.close();
    this.#ifs.clear();
  }
}
