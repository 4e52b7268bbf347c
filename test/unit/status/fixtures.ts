// Clusters and host answers for the status tests: probe output as the tools print it.
import { clusterFrom } from "../../fixtures/plan/clusters.js";
import type { Cluster } from "../../../src/inventory/model.js";
import { FakeConnection } from "../../../src/ssh/fake.js";
import { httpGetLoopback } from "../../../src/ssh/http.js";
import type { StatusProbe } from "../../../src/status/index.js";

/** Two directors, rs1 and rs2 (SSH hosts) behind an HTTP_GET-checked DR VIP, rs2 with inhibit_on_failure; rs3 a NAT real server. */
export function statusCluster(backend: "keepalived" | "lvsd" = "keepalived"): Cluster {
  return clusterFrom(statusInventory(backend));
}

/** statusCluster's inventory as a user writes it (the CLI tests load it from a file). */
export function statusInventory(backend: "keepalived" | "lvsd" = "keepalived"): string {
  return `
defaults: { user: root }
director: { backend: ${backend} }
hosts:
  ds1: { address: 10.77.0.11 }
  ds2: { address: 10.77.0.12 }
  rs1: { address: 10.77.0.21 }
  rs2: { address: 10.77.0.22 }
  rs3: { address: 10.77.1.23 }
groups:
  directors: { hosts: [ds1, ds2] }
  realservers: { hosts: [rs1, rs2, rs3] }
vrrp_instances:
  - name: VI_web
    interface: eth0
    virtual_router_id: 51
    priority: 100
    members: { ds1: { priority: 150 }, ds2: { priority: 100 } }
    authentication: { auth_type: PASS, auth_pass: { env: LVS_VRRP_PASS } }
    virtual_ipaddress: [10.77.0.100/24, 10.77.1.1/24]
virtual_servers:
  - vip: 10.77.0.100
    port: 80
    lb_algo: wrr
    check: { type: HTTP_GET, url: [{ path: /health, status_code: 200 }] }
    real_servers: [{ host: rs1 }, { host: rs2, weight: 2, inhibit_on_failure: true }]
  - vip: 10.77.0.101
    port: 8080
    lb_kind: NAT
    real_servers: [{ host: rs3 }]
`;
}

/** `ip -j addr show` as iproute2 6.1 prints it (the fields read, and a few more). */
export function ipJson(eth0: string[], lo: string[] = []): string {
  return JSON.stringify([
    { ifindex: 1, ifname: "lo", flags: ["LOOPBACK", "UP", "LOWER_UP"], mtu: 65536, operstate: "UNKNOWN", addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8, scope: "host", label: "lo" }, ...lo.map((a) => ({ family: "inet", local: a, prefixlen: 32, scope: "global", label: "lo" }))] },
    { ifindex: 2, ifname: "eth0", flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], mtu: 1500, operstate: "UP", addr_info: eth0.map((a) => ({ family: "inet", local: a, prefixlen: 24, scope: "global", label: "eth0" })) },
  ]);
}

export const MASTER_ADDRS = ["10.77.0.11", "10.77.0.100", "10.77.1.1"];

/** `ipvsadm -Sn` with the inventory's table, less the lines matching `drop`, and rs2's weight. */
export function saveText(opts: { drop?: RegExp; rs2Weight?: number; extra?: string[] } = {}): string {
  const lines = [
    "-A -t 10.77.0.100:80 -s wrr",
    "-a -t 10.77.0.100:80 -r 10.77.0.21:80 -g -w 1",
    `-a -t 10.77.0.100:80 -r 10.77.0.22:80 -g -w ${opts.rs2Weight ?? 2}`,
    "-A -t 10.77.0.101:8080 -s wlc",
    "-a -t 10.77.0.101:8080 -r 10.77.1.23:8080 -m -w 1",
    ...(opts.extra ?? []),
  ];
  return lines.filter((l) => !opts.drop?.test(l)).join("\n") + "\n";
}

/** `ipvsadm -Ln` for the same table, with counts. */
export function listText(opts: { drop?: RegExp; rs2Weight?: number } = {}): string {
  const lines = [
    "IP Virtual Server version 1.2.1 (size=4096)",
    "Prot LocalAddress:Port Scheduler Flags",
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
    "TCP  10.77.0.100:80 wrr",
    "  -> 10.77.0.21:80                Route   1      3          12",
    `  -> 10.77.0.22:80                Route   ${opts.rs2Weight ?? 2}      1          4`,
    "TCP  10.77.0.101:8080 wlc",
    "  -> 10.77.1.23:8080              Masq    1      0          0",
  ];
  return lines.filter((l) => !opts.drop?.test(l)).join("\n") + "\n";
}

const M = "@@lvsctl-roll\n";
/** What the director probe prints. */
export function directorOut(active: string, eth0: string[], save = saveText(), list = listText()): string {
  return `${active}\n${M}${ipJson(eth0)}\n${M}${save}${M}${list}`;
}

/** What the real-server probe prints: lo's addresses, then the ARP sysctls. */
export function realServerOut(lo: string[], arp: { all: [number, number]; eth0?: [number, number] } = { all: [1, 2] }): string {
  const addrs = JSON.stringify([{ ifindex: 1, ifname: "lo", addr_info: [{ family: "inet", local: "127.0.0.1" }, ...lo.map((a) => ({ family: "inet", local: a }))] }]);
  const eth0 = arp.eth0 ?? [0, 0];
  const sys = [
    `/proc/sys/net/ipv4/conf/all/arp_ignore:${arp.all[0]}`,
    "/proc/sys/net/ipv4/conf/default/arp_ignore:0",
    `/proc/sys/net/ipv4/conf/eth0/arp_ignore:${eth0[0]}`,
    "/proc/sys/net/ipv4/conf/lo/arp_ignore:0",
    `/proc/sys/net/ipv4/conf/all/arp_announce:${arp.all[1]}`,
    "/proc/sys/net/ipv4/conf/default/arp_announce:0",
    `/proc/sys/net/ipv4/conf/eth0/arp_announce:${eth0[1]}`,
    "/proc/sys/net/ipv4/conf/lo/arp_announce:0",
  ];
  return `${addrs}\n@@lvsctl-status\n${sys.join("\n")}\n`;
}

/** A StatusProbe over fake connections, as the CLI's is over sessions. */
export function fakeProbe(hosts: Record<string, FakeConnection | Error>): StatusProbe & { asked: string[] } {
  const asked: string[] = [];
  const conn = (h: string) => {
    const c = hosts[h];
    if (!c) throw new Error(`no fake for ${h}`);
    if (c instanceof Error) throw c;
    return c;
  };
  return {
    asked,
    async exec(host, cmd) {
      asked.push(host);
      return conn(host).exec(cmd, { become: true });
    },
    async httpGet(host, port, path) {
      return httpGetLoopback(conn(host), port, path);
    },
  };
}

