// The sockets lvsd's VRRP and ARP paths use, opened and configured over a SocketFactory (the
// native one in production, FakeSocketFactory in tests). Only option setting here: encoding
// lives in the codecs.

import {
  AF_INET,
  AF_PACKET,
  ETH_P_ARP,
  IP_ADD_MEMBERSHIP,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_HDRINCL,
  IP_PKTINFO,
  IPPROTO_IP,
  IPPROTO_VRRP,
  SO_BINDTODEVICE,
  SO_RCVBUF,
  SOCK_RAW,
  SOL_SOCKET,
} from "../native/constants.js";
import type { DatagramSocket, SocketFactory } from "../native/types.js";
import { encodeIpv4Header } from "./ipv4.js";
import { ifnameOption, ipMreqn } from "./sockopt.js";

/** RFC 5798 §5.1.1.2 */
export const VRRP_GROUP = "224.0.0.18";
/** IP precedence "internetwork control" (DSCP CS6), what keepalived sets on adverts. */
export const VRRP_TOS = 0xc0;

export interface VrrpSocketOptions {
  ifname: string;
  ifindex: number;
  /** Join 224.0.0.18 on the interface (default true; false for unicast-only instances). */
  multicast?: boolean;
  /** Receive only from this interface (SO_BINDTODEVICE, default true). */
  bindToDevice?: boolean;
  /** IP_MULTICAST_TTL, when given. With IP_HDRINCL the kernel sends our header's TTL anyway; the
   * advert channel sets 255 so the socket says what the packets carry. */
  multicastTtl?: number;
  /** SO_RCVBUF in bytes, best effort: if the kernel refuses, the default buffer is kept. */
  receiveBuffer?: number;
  netns?: string;
}

/** A raw IPv4 socket for protocol 112, for sending and receiving adverts on one interface.
 *
 * Sending uses IP_HDRINCL, as keepalived does: the caller gives the whole IP packet (build it with
 * vrrpDatagram), so the source address is exactly the one the v3 pseudo-header checksum was
 * computed with, TTL is 255 and TOS is CS6. The socket is deliberately not bound to an address:
 * Linux delivers to a bound raw socket only packets addressed to that address, which would drop
 * every multicast advert. Receiving: IP_PKTINFO gives the ingress ifindex and destination; our own
 * multicast is not looped back; the socket joins 224.0.0.18 on the interface. What it receives
 * starts with the IP header (decode with decodeVrrpPacket).
 *
 * The one place the VRRP socket's options are set, in this order (runtime/raw-channel.ts opens
 * through it too; the unit tests pin the sequence): SO_BINDTODEVICE, IP_HDRINCL, IP_PKTINFO,
 * IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_MULTICAST_IF, SO_RCVBUF, IP_ADD_MEMBERSHIP. If any option
 * but SO_RCVBUF fails, the socket is closed and the error rethrown. */
export function openVrrpSocket(factory: SocketFactory, o: VrrpSocketOptions): DatagramSocket {
  const s = factory.open(AF_INET, SOCK_RAW, IPPROTO_VRRP, o.netns === undefined ? undefined : { netns: o.netns });
  try {
    if (o.bindToDevice ?? true) s.setsockopt(SOL_SOCKET, SO_BINDTODEVICE, ifnameOption(o.ifname));
    s.setsockopt(IPPROTO_IP, IP_HDRINCL, 1);
    s.setsockopt(IPPROTO_IP, IP_PKTINFO, 1);
    if (o.multicastTtl !== undefined) s.setsockopt(IPPROTO_IP, IP_MULTICAST_TTL, o.multicastTtl);
    s.setsockopt(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
    s.setsockopt(IPPROTO_IP, IP_MULTICAST_IF, ipMreqn("0.0.0.0", o.ifindex));
    if (o.receiveBuffer !== undefined) {
      try {
        s.setsockopt(SOL_SOCKET, SO_RCVBUF, o.receiveBuffer);
      } catch {
        /* the default buffer works too */
      }
    }
    if (o.multicast ?? true) s.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, ipMreqn(VRRP_GROUP, o.ifindex));
  } catch (e) {
    s.close();
    throw e;
  }
  return s;
}

/** The whole IP packet for an encoded advert: a 20-byte header with TTL 255 (RFC 5798 §5.1.1.3),
 * TOS CS6 and no DF, as keepalived sends it. `id` 0 lets the kernel choose. */
export function vrrpDatagram(advert: Buffer, src: string, dst: string, id = 0): Buffer {
  const ip = encodeIpv4Header({ src, dst, protocol: IPPROTO_VRRP, payloadLength: advert.length, ttl: 255, tos: VRRP_TOS, id, dontFragment: false });
  return Buffer.concat([ip, advert]);
}

/** An AF_PACKET raw socket for sending ARP frames. Protocol 0 by default: it receives nothing, so
 * no queue builds up; pass `receive: true` for ETH_P_ARP (tests that watch the wire). */
export function openArpSocket(factory: SocketFactory, o: { netns?: string; receive?: boolean; ifindex?: number } = {}): DatagramSocket {
  const s = factory.open(AF_PACKET, SOCK_RAW, o.receive ? ETH_P_ARP : 0, o.netns === undefined ? undefined : { netns: o.netns });
  try {
    if (o.receive && o.ifindex !== undefined) s.bind({ ifindex: o.ifindex, protocol: ETH_P_ARP });
  } catch (e) {
    s.close();
    throw e;
  }
  return s;
}

/** Sends one Ethernet frame (e.g. encodeGratuitousArp) out of `ifindex`. */
export function sendFrame(s: DatagramSocket, ifindex: number, frame: Buffer): number {
  return s.send(frame, { ifindex, protocol: ETH_P_ARP, addr: frame.subarray(0, 6) });
}
