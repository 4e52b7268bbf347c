// The director's sysctl baseline, decided once from the model: the renderer only lays it out as a
// sysctl.d(5) file. The model keeps just the inventory's `director.sysctls` (Cluster.directorSysctls);
// the baseline follows from the services, so a hand-built or resolved cluster get the same one.
import { isIP } from "node:net";
import type { Cluster, ResolvedService } from "./model.js";

/**
 * What is wrong with a sysctl key, or undefined. A key names a file under /proc/sys: dots separate
 * levels, and a `/` stands for a dot inside a name (sysctl(8), e.g. an interface eth0.100), so
 * `a.//.b` would be /proc/sys/a/../b. Segments hold letters, digits and `_ - @ + = , /`; none may
 * map to `.` or `..`; no leading `-` (sysctl would read an option). `glob`: a whole segment may
 * be `*` (the planners' fact requests: every interface).
 */
export function sysctlKeyProblem(key: string, opts: { glob?: boolean } = {}): string | undefined {
  if (key.length === 0 || key.length > 255) return "a sysctl key has 1 to 255 characters";
  if (key.startsWith("-")) return "a sysctl key cannot start with - (sysctl would read it as an option)";
  for (const seg of key.split(".")) {
    if (seg === "*" && opts.glob) continue;
    if (seg === "") return "a sysctl key has an empty name between two dots (or at an end)";
    if (!/^[A-Za-z0-9_@+=,/-]+$/.test(seg)) return `${JSON.stringify(seg)} is not a sysctl name: dot-separated names of letters, digits and _ - @ + = , / (a / is a dot inside a name)`;
    const name = seg.replace(/\//g, ".");
    if (name === "." || name === "..") return `${JSON.stringify(seg)} would name ${name} in the /proc/sys path`;
  }
  return undefined;
}

export interface DirectorSysctl {
  key: string;
  value: string;
  /** Why the baseline sets it (written above the line); overrides and additions have none. */
  why?: string;
  /** The key may not exist on the host (an interface not up yet): sysctl.d(5)'s "-" prefix. */
  optional?: boolean;
}

/** The address families a NAT service forwards: its VIP's, or for a fwmark service its real servers'. */
function natFamilies(s: ResolvedService): Set<4 | 6> {
  const addrs = s.vip !== undefined ? [s.vip] : [...s.realServers.map((r) => r.address), ...(s.sorryServer ? [s.sorryServer.address] : [])];
  const out = new Set<4 | 6>();
  for (const a of addrs) {
    const f = isIP(a);
    if (f === 4 || f === 6) out.add(f);
  }
  return out;
}

/**
 * The director baseline (Google Seesaw's, shared/reference/peers.md), then the inventory's
 * `director.sysctls`, which override a baseline key in place or add keys at the end (by name).
 * - NAT: the replies of the real servers are routed back through the director, so forwarding is on
 *   in each family a NAT service uses; for IPv4, no ICMP redirects that would tell the real servers
 *   to bypass the director (IPv6 has no such switch). The kernel sends redirects on an interface
 *   when all/send_redirects OR its own send_redirects is 1 (ip-sysctl.rst), and `default` only
 *   applies to interfaces made later: each of the director's own interfaces (`interfaces`: its
 *   VRRP interfaces, where one-arm NAT receives the replies and sends them back out) gets its own
 *   line, optional since a VLAN or bond may not be up when the file is applied;
 * - with any virtual service: connections to a removed real server and persistence templates of a
 *   quiesced one are dropped at once, so clients move instead of hanging. A VRRP-only cluster
 *   (keepalived only moves VIPs) has no IPVS table and gets no IPVS keys.
 */
export function directorSysctls(cluster: Pick<Cluster, "services" | "directorSysctls">, interfaces: readonly string[] = []): DirectorSysctl[] {
  const families = new Set(cluster.services.filter((s) => s.lbKind === "NAT").flatMap((s) => [...natFamilies(s)]));
  const lines: DirectorSysctl[] = [];
  const routed = "NAT: replies from the real servers are routed back through the director.";
  if (families.has(4)) lines.push({ key: "net.ipv4.ip_forward", value: "1", why: routed });
  if (families.has(6)) lines.push({ key: "net.ipv6.conf.all.forwarding", value: "1", ...(families.has(4) ? {} : { why: routed }) });
  if (families.has(4)) {
    lines.push({ key: "net.ipv4.conf.all.send_redirects", value: "0", why: "NAT: no ICMP redirects that would send real servers around the director." });
    lines.push({ key: "net.ipv4.conf.default.send_redirects", value: "0" });
    // sysctl(8) spells a dot inside an interface name (eth0.100) as `/`.
    [...new Set(interfaces)].forEach((i, n) =>
      lines.push({
        key: `net.ipv4.conf.${i.replace(/\./g, "/")}.send_redirects`,
        value: "0",
        optional: true,
        ...(n === 0 ? { why: "all/ alone leaves an existing interface's own switch on (either one enables redirects); \"-\": an interface that is not up yet is skipped." } : {}),
      }),
    );
  }
  if (cluster.services.length > 0) {
    lines.push({ key: "net.ipv4.vs.expire_nodest_conn", value: "1", why: "Drop connections to a removed real server at once, so clients reconnect instead of hanging." });
    lines.push({ key: "net.ipv4.vs.expire_quiescent_template", value: "1", why: "Persistence templates of a real server at weight 0 expire, so persistent clients move." });
  }
  for (const key of Object.keys(cluster.directorSysctls).sort()) {
    const value = String(cluster.directorSysctls[key]);
    const i = lines.findIndex((l) => l.key === key);
    if (i >= 0) lines[i] = { ...lines[i]!, value };
    else lines.push({ key, value });
  }
  return lines;
}
