// Byte layouts of the socket-option structs lvsd passes to setsockopt. Pure.

import { ipv4ToBytes } from "./ipv4.js";

/** struct ip_mreqn (<linux/in.h>, 12 bytes): multicast group, local address, ifindex (host-order
 * int). For IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP, and for IP_MULTICAST_IF (group unused). */
export function ipMreqn(group: string, ifindex: number, local = "0.0.0.0"): Buffer {
  const b = Buffer.alloc(12);
  ipv4ToBytes(group).copy(b, 0);
  ipv4ToBytes(local).copy(b, 4);
  b.writeInt32LE(ifindex, 8);
  return b;
}

/** SO_BINDTODEVICE takes the interface name, NUL-terminated. */
export function ifnameOption(name: string): Buffer {
  return Buffer.concat([Buffer.from(name, "utf8"), Buffer.from([0])]);
}
