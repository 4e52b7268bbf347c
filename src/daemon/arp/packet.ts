// Gratuitous ARP (RFC 826 packet, RFC 5227 §3 / RFC 5944 §4.6 announcement) as a 42-byte
// Ethernet frame for an AF_PACKET SOCK_RAW socket. Pure.
//
//   Ethernet: dst(6) src(6) ethertype 0x0806
//   ARP:      htype 1, ptype 0x0800, hlen 6, plen 4, oper (1 request / 2 reply),
//             sender MAC, sender IP, target MAC, target IP

import { fail, ok, type Decoded } from "../net/decoded.js";
import { bytesToIpv4, ipv4ToBytes } from "../net/ipv4.js";

/** <linux/if_ether.h> */
export const ETH_P_ARP = 0x0806;
export const ETH_P_IP = 0x0800;
export const ETH_HLEN = 14;
/** <linux/if_arp.h> ARPHRD_ETHER, ARPOP_REQUEST, ARPOP_REPLY */
export const ARPHRD_ETHER = 1;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;
export const ARP_LEN = 28;
export const GARP_FRAME_LEN = ETH_HLEN + ARP_LEN; // 42

export const BROADCAST_MAC = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export interface ArpFrame {
  ethDst: Buffer;
  ethSrc: Buffer;
  op: number;
  senderMac: Buffer;
  senderIp: string;
  targetMac: Buffer;
  targetIp: string;
}

export function parseMac(s: string): Buffer {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) throw new RangeError(`not a MAC address: ${JSON.stringify(s)}`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

function mac(m: Buffer | string): Buffer {
  const b = typeof m === "string" ? parseMac(m) : m;
  if (b.length !== 6) throw new RangeError("a MAC address has 6 bytes");
  return b;
}

/** The gratuitous ARP lvsd sends for a VIP: broadcast, sender and target IP both the VIP.
 * "request" (arping -U, what keepalived sends) has target MAC ff:ff:ff:ff:ff:ff;
 * "reply" (arping -A) has oper 2 and target MAC = sender MAC. */
export function encodeGratuitousArp(o: { mac: Buffer | string; ip: string; form?: "request" | "reply" }): Buffer {
  const m = mac(o.mac);
  const reply = o.form === "reply";
  return encodeArpFrame({
    ethDst: BROADCAST_MAC,
    ethSrc: m,
    op: reply ? ARPOP_REPLY : ARPOP_REQUEST,
    senderMac: m,
    senderIp: o.ip,
    targetMac: reply ? m : BROADCAST_MAC,
    targetIp: o.ip,
  });
}

export function encodeArpFrame(f: ArpFrame): Buffer {
  const b = Buffer.alloc(GARP_FRAME_LEN);
  mac(f.ethDst).copy(b, 0);
  mac(f.ethSrc).copy(b, 6);
  b.writeUInt16BE(ETH_P_ARP, 12);
  b.writeUInt16BE(ARPHRD_ETHER, 14);
  b.writeUInt16BE(ETH_P_IP, 16);
  b[18] = 6;
  b[19] = 4;
  b.writeUInt16BE(f.op, 20);
  mac(f.senderMac).copy(b, 22);
  ipv4ToBytes(f.senderIp).copy(b, 28);
  mac(f.targetMac).copy(b, 32);
  ipv4ToBytes(f.targetIp).copy(b, 38);
  return b;
}

export type ArpRejectReason = "short" | "bad-type" | "bad-field";

/** Decodes an Ethernet/IPv4 ARP frame (trailing Ethernet padding to 60 bytes is allowed). */
export function decodeArpFrame(b: Buffer): Decoded<ArpFrame, ArpRejectReason> {
  if (b.length < GARP_FRAME_LEN) return fail("short", `${b.length} bytes, an Ethernet ARP frame needs 42`);
  const ethertype = b.readUInt16BE(12);
  if (ethertype !== ETH_P_ARP) return fail("bad-type", `ethertype 0x${ethertype.toString(16)}`);
  const htype = b.readUInt16BE(14);
  const ptype = b.readUInt16BE(16);
  if (htype !== ARPHRD_ETHER || ptype !== ETH_P_IP || b[18] !== 6 || b[19] !== 4)
    return fail("bad-field", `htype ${htype} ptype 0x${ptype.toString(16)} hlen ${b[18]} plen ${b[19]}`);
  return ok({
    ethDst: Buffer.from(b.subarray(0, 6)),
    ethSrc: Buffer.from(b.subarray(6, 12)),
    op: b.readUInt16BE(20),
    senderMac: Buffer.from(b.subarray(22, 28)),
    senderIp: bytesToIpv4(b, 28),
    targetMac: Buffer.from(b.subarray(32, 38)),
    targetIp: bytesToIpv4(b, 38),
  });
}

/** A gratuitous ARP announces itself: sender IP equals target IP (request or reply form). */
export function isGratuitous(f: ArpFrame): boolean {
  return f.senderIp === f.targetIp && (f.op === ARPOP_REQUEST || f.op === ARPOP_REPLY);
}
