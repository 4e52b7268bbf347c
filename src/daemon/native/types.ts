// The socket interface the daemon codes against. RawSocket (index.ts) is the real adapter over
// the native addon; FakeSocket (fake.ts) is the hand-written fake for tests. No I/O here.

/** AF_INET address: dotted IPv4 (raw sockets have no port; it is reported as 0). */
export interface InetAddress {
  address: string;
  port?: number;
}

/** AF_PACKET address (struct sockaddr_ll). On send, `addr` is the link-layer destination. */
export interface PacketAddress {
  ifindex: number;
  /** Ethertype, host order (e.g. 0x0806); the addon converts to network order. */
  protocol: number;
  /** Received only: ARPHRD_* and PACKET_* (PACKET_HOST 0, BROADCAST 1, MULTICAST 2, OTHERHOST 3, OUTGOING 4). */
  hatype?: number;
  pkttype?: number;
  addr?: Buffer;
}

/** AF_NETLINK address (struct sockaddr_nl): pid 0 is the kernel; groups is the legacy bit mask. */
export interface NetlinkAddress {
  pid: number;
  groups: number;
}

export type SockAddr = InetAddress | PacketAddress | NetlinkAddress;

/** Ancillary data the addon understands; a field is present only when its cmsg came. */
export interface Ancillary {
  /** IP_PKTINFO (enable with setsockopt(IPPROTO_IP, IP_PKTINFO, 1)): ingress interface. */
  ifindex?: number;
  /** IP_PKTINFO ipi_spec_dst: local address the packet was routed to. */
  specDst?: string;
  /** IP_PKTINFO ipi_addr: destination address in the IP header. */
  dst?: string;
  /** IP_RECVTTL: the TTL of the IP header (raw sockets also carry it in byte 8 of the data). */
  ttl?: number;
  /** NETLINK_PKTINFO: the multicast group a netlink message came from (0 for unicast). */
  group?: number;
}

export interface Datagram {
  data: Buffer;
  /** Source address; null when the kernel gave none. */
  from: SockAddr | null;
  ancillary: Ancillary;
  /** MSG_TRUNC: the datagram was longer than the 64 KiB receive buffer and was cut. */
  truncated: boolean;
}

/** An errno from the kernel: `code` is the errno name ("EPERM", "EEXIST", ...). */
export interface ErrnoError extends Error {
  code: string;
  errno: number;
  syscall?: string;
}

export function isErrnoError(e: unknown, code?: string): e is ErrnoError {
  return (
    e instanceof Error &&
    typeof (e as Partial<ErrnoError>).code === "string" &&
    typeof (e as Partial<ErrnoError>).errno === "number" &&
    (code === undefined || (e as ErrnoError).code === code)
  );
}

export type MessageHandler = (d: Datagram) => void;
/** Receive errors: ENOBUFS on netlink (events lost: resync) and ICMP-derived errors are
 * transient and reading goes on; any other error stops reading. */
export type ErrorHandler = (e: ErrnoError) => void;

/** One non-blocking datagram socket (raw IPv4, packet or netlink). */
export interface DatagramSocket {
  readonly domain: number;
  readonly closed: boolean;
  bind(addr: SockAddr): void;
  setsockopt(level: number, name: number, value: number | Buffer): void;
  getsockopt(level: number, name: number, length: number): Buffer;
  /** getsockname(): for netlink, the port id the kernel assigned after bind. */
  localAddress(): SockAddr | null;
  /** sendto(); AF_INET accepts a dotted string. Throws ErrnoError (EAGAIN included). */
  send(data: Buffer, dest?: SockAddr | string): number;
  /** Starts reading (replacing any previous handlers); each datagram is delivered in order. */
  onMessage(handler: MessageHandler, onError?: ErrorHandler): void;
  /** Stops reading; the socket stays open. */
  pause(): void;
  /** Idempotent. Stops reading and closes the fd at once. */
  close(): void;
}

/** Opens sockets. The real one uses the addon; tests pass a fake. */
export interface SocketFactory {
  open(domain: number, type: number, protocol: number, opts?: { netns?: string }): DatagramSocket;
}

/** Interface lookups (in a given network namespace path when `netns` is set). */
export interface InterfaceLookup {
  nameToIndex(name: string, netns?: string): number;
  indexToName(index: number, netns?: string): string;
  /** SIOCGIFHWADDR: the 6-byte MAC. */
  hwAddr(name: string, netns?: string): Buffer;
}
