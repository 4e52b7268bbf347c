// The real IPVS client: lvsd's own generic netlink socket (the native addon). Loads ip_vs when the
// family is not registered yet, as keepalived does (modprobe, argv, no shell). Needs CAP_NET_ADMIN.
import { execFile } from "node:child_process";
import { RawSocket } from "../native/index.js";
import { AF_NETLINK, NETLINK_GENERIC, SOCK_RAW } from "../native/constants.js";
import { NetlinkConnection } from "../netlink/connection.js";
import { NetlinkIpvsClient, resolveIpvsFamily, type IpvsClient } from "./client.js";

function modprobe(module: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("modprobe", [module], { timeout: 30_000 }, (e, _out, stderr) => resolve(e ? `${e.message.split("\n")[0]}${stderr ? `: ${stderr.trim()}` : ""}` : undefined));
  });
}

export async function openIpvsClient(): Promise<IpvsClient> {
  const conn = new NetlinkConnection(RawSocket.open(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC), { timeoutMs: 20_000 });
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
  return new NetlinkIpvsClient(conn, f.value);
}
