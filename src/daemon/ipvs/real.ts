// The real IPVS client: lvsd's own generic netlink socket (the native addon). Loads ip_vs when the
// family is not registered yet, as keepalived does (modprobe, argv, no shell). Needs CAP_NET_ADMIN.
import { execFile } from "node:child_process";
import { RawSocket } from "../native/index.js";
import { AF_NETLINK, NETLINK_CAP_ACK, NETLINK_GENERIC, SO_RCVBUF, SO_RCVBUFFORCE, SOCK_RAW, SOL_NETLINK, SOL_SOCKET } from "../native/constants.js";
import type { DatagramSocket } from "../native/types.js";
import { NetlinkConnection } from "../netlink/connection.js";
import { BATCH_MAX, NetlinkIpvsClient, resolveIpvsFamily, type IpvsClient, type IpvsClientOptions } from "./client.js";

/** Receive buffer asked for: a whole batch of failed writes must fit (BATCH_MAX answers). */
const RCVBUF = 1 << 20;

/** Room for a batch's answers: errors without the request echoed back (NETLINK_CAP_ACK, the
 * errno and the header are all the reconciler reads) and a receive buffer of 1 MiB (the kernel
 * doubles it), past net.core.rmem_max with CAP_NET_ADMIN (SO_RCVBUFFORCE), which lvsd needs for
 * IPVS anyway. A smaller buffer only risks ENOBUFS when a whole batch fails, and then the writes
 * whose answers were lost are reported as such and the next pass reads the table again. */
function roomForAnswers(socket: DatagramSocket): void {
  try {
    socket.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1);
  } catch {
    /* kernels before 4.3: errors echo the request, which is only bigger */
  }
  try {
    socket.setsockopt(SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF);
  } catch {
    try {
      socket.setsockopt(SOL_SOCKET, SO_RCVBUF, RCVBUF);
    } catch {
      /* the default buffer then */
    }
  }
}

/** LVSD_IPVS_BATCH=<acks>:<size> ("errors:256", "each:64", "each:1" = one write, one wait):
 * for bench/ipvs to compare write strategies on one build; unset in service. */
function batchFromEnv(v: string | undefined): IpvsClientOptions {
  const m = /^(each|errors):(\d+)$/.exec(v ?? "");
  return m ? { acks: m[1] as "each" | "errors", batchMax: Math.min(Number(m[2]), BATCH_MAX) } : {};
}

function modprobe(module: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("modprobe", [module], { timeout: 30_000 }, (e, _out, stderr) => resolve(e ? `${e.message.split("\n")[0]}${stderr ? `: ${stderr.trim()}` : ""}` : undefined));
  });
}

export async function openIpvsClient(opts: IpvsClientOptions = batchFromEnv(process.env.LVSD_IPVS_BATCH)): Promise<IpvsClient> {
  const socket = RawSocket.open(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
  roomForAnswers(socket);
  const conn = new NetlinkConnection(socket, { timeoutMs: 20_000 });
  let f = await resolveIpvsFamily(conn);
  if (!f.ok && f.code === "ENOENT") {
    const why = await modprobe("ip_vs");
    f = await resolveIpvsFamily(conn);
    if (!f.ok) {
      conn.close();
      throw new Error(`the kernel has no IPVS (generic netlink family "IPVS" not registered${why ? `; modprobe ip_vs: ${why}` : ""})`);
    }
  }
  if (!f.ok) {
    conn.close();
    throw new Error(`cannot resolve the IPVS netlink family: ${f.code}${f.message ? ` ${f.message}` : ""}`);
  }
  const dumpConns: NetlinkConnection[] = [];
  try {
    for (let i = 1; i < dumpSockets(process.env.LVSD_IPVS_DUMP_SOCKETS); i++) dumpConns.push(new NetlinkConnection(RawSocket.open(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC), { timeoutMs: 20_000 }));
  } catch {
    /* fewer sockets: the dumps take turns on the ones open */
  }
  return new NetlinkIpvsClient(conn, f.value, { ...opts, dumpConns });
}

/** Sockets for the destination dumps (one GET_DEST per service, one dump at a time per socket):
 * DUMP_SOCKETS, or LVSD_IPVS_DUMP_SOCKETS=1..16 for bench/ipvs to compare. */
const DUMP_SOCKETS = 4;
function dumpSockets(v: string | undefined): number {
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 && n <= 16 ? n : DUMP_SOCKETS;
}
