// Linux socket constants the daemon passes to the native layer. Values from the uapi/glibc
// headers named on each line (x86-64 and arm64 agree on all of them).

/** <bits/socket.h> address families. */
export const AF_INET = 2;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;

/** <bits/socket_type.h> (SOCK_NONBLOCK and SOCK_CLOEXEC are always added by the addon). */
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;

/** <asm-generic/socket.h> level SOL_SOCKET 1. */
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_BINDTODEVICE = 25;
export const SO_RCVBUFFORCE = 33;

/** <linux/in.h>: IPPROTO_IP level 0 options. */
export const IPPROTO_IP = 0;
export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_HDRINCL = 3;
export const IP_PKTINFO = 8;
export const IP_RECVTTL = 12;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IP_DROP_MEMBERSHIP = 36;
/** IANA protocol number of VRRP (RFC 3768 §5.2.4 / RFC 5798 §5.1.1.4). */
export const IPPROTO_VRRP = 112;

/** <linux/socket.h> SOL_NETLINK 270 and <linux/netlink.h> socket options. */
export const SOL_NETLINK = 270;
export const NETLINK_ADD_MEMBERSHIP = 1;
export const NETLINK_DROP_MEMBERSHIP = 2;
export const NETLINK_PKTINFO = 3;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;
/** <linux/netlink.h> protocols. */
export const NETLINK_ROUTE = 0;
export const NETLINK_GENERIC = 16;

/** <linux/socket.h> SOL_PACKET 263; <linux/if_ether.h> ethertypes. */
export const SOL_PACKET = 263;
export const ETH_P_ALL = 0x0003;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
