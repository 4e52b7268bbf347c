// The lab's network, one per slot S (several labs can run at once, e.g. two engineers' tests):
//
//   root namespace                 lvslabS-hub namespace              lvslabS-NAME namespaces
//   lvslabS 10.77.S.1/24 ===veth=== up0 -+- lvsbr0 (bridge) -+- vI ===veth=== eth0 10.77.S.(10+I)/24
//                                                            +- vJ ===veth=== eth0 10.77.S.(10+J)/24
//
// The test process (lvsctl, ssh, ansible) talks to the hosts straight from the root namespace
// through lvslabS; hosts reach each other over the bridge (any host can be a jump host). Hosts get
// no default route, so nothing they send can leave the lab; the root side does not forward.
// Addresses: .1 the root side, .10-.199 hosts, .200-.254 free for tests (VIPs), see freeAddress().
import { readdirSync, writeFileSync } from "node:fs";
import { LvsctlError } from "../errors/index.js";
import { commandFailed, run, runSync } from "./proc.js";

export const MAX_SLOT = 63;
export const HOST_OFFSET = 10; // first host address is .10
export const MAX_HOSTS = 190; // .10 .. .199
export const FREE_FIRST = 200; // .200 .. .254 are left for tests (VIPs)

export function netNames(slot: number) {
  const p = `lvslab${slot}`;
  return {
    /** prefix of every namespace of this slot */
    nsPrefix: `${p}-`,
    hubNs: `${p}-hub`,
    hostNs: (name: string) => `${p}-${name}`,
    /** the veth end in the root namespace */
    rootLink: p,
    /** names inside the hub namespace (so they never clash with another slot's) */
    hubUplink: "up0",
    bridge: "lvsbr0",
    hubPort: (index: number) => `v${index}`,
  };
}

export function subnet(slot: number) {
  return { cidr: `10.77.${slot}.0/24`, gateway: `10.77.${slot}.1`, prefixLen: 24 };
}

export function hostAddress(slot: number, index: number): string {
  if (index < 0 || index >= MAX_HOSTS) throw new LvsctlError("LAB_TOO_MANY", `lab: host index ${index} is outside 0..${MAX_HOSTS - 1}`);
  return `10.77.${slot}.${HOST_OFFSET + index}`;
}

/** An address in the lab's subnet that no host uses (for VIPs): k = 0..54. */
export function freeAddress(slot: number, k: number): string {
  if (k < 0 || FREE_FIRST + k > 254) throw new LvsctlError("LAB_NO_ADDRESS", `lab: free address ${k} is outside 0..${254 - FREE_FIRST}`);
  return `10.77.${slot}.${FREE_FIRST + k}`;
}

async function batch(commands: string[], netns?: string): Promise<void> {
  if (commands.length === 0) return;
  const argv = netns ? ["ip", "-n", netns, "-batch", "-"] : ["ip", "-batch", "-"];
  const r = await run(argv, { input: commands.join("\n") + "\n" });
  if (r.code !== 0) throw commandFailed([...argv, `<<${commands.length} commands`], r);
}

function setSysctl(path: string, value: string): void {
  try {
    writeFileSync(`/proc/sys/${path}`, value);
  } catch {
    /* best effort: only noise reduction */
  }
}

export async function createHub(slot: number): Promise<void> {
  const n = netNames(slot);
  const s = subnet(slot);
  await batch([
    `netns add ${n.hubNs}`,
    `link add ${n.rootLink} type veth peer name ${n.hubUplink} netns ${n.hubNs}`,
  ]);
  // No IPv6 on the root side: router solicitations and DAD have no business there.
  setSysctl(`net/ipv6/conf/${n.rootLink}/disable_ipv6`, "1");
  await batch([`addr add ${s.gateway}/${s.prefixLen} dev ${n.rootLink}`, `link set ${n.rootLink} up`]);
  await batch(
    [
      "link set lo up",
      // Snooping off: VRRP adverts (224.0.0.18) must reach every port without an IGMP querier.
      `link add ${n.bridge} type bridge mcast_snooping 0`,
      `link set ${n.hubUplink} master ${n.bridge}`,
      `link set ${n.hubUplink} up`,
      `link set ${n.bridge} up`,
    ],
    n.hubNs,
  );
}

/** Creates the namespaces and veths of many hosts with a few `ip -batch` runs. */
export async function addHosts(slot: number, hosts: readonly { name: string; index: number }[]): Promise<void> {
  const n = netNames(slot);
  const s = subnet(slot);
  await batch(
    hosts.flatMap((h) => [
      `netns add ${n.hostNs(h.name)}`,
      `link add ${n.hubPort(h.index)} netns ${n.hubNs} type veth peer name eth0 netns ${n.hostNs(h.name)}`,
    ]),
  );
  await batch(hosts.flatMap((h) => [`link set ${n.hubPort(h.index)} master ${n.bridge}`, `link set ${n.hubPort(h.index)} up`]), n.hubNs);
  await Promise.all(
    hosts.map((h) =>
      batch(["link set lo up", `addr add ${hostAddress(slot, h.index)}/${s.prefixLen} dev eth0`, "link set eth0 up"], n.hostNs(h.name)),
    ),
  );
}

/** Unplugs (or plugs back) a host's cable at the bridge: a stopped host then does not even answer ARP. */
export async function setHostLink(slot: number, index: number, up: boolean): Promise<void> {
  const n = netNames(slot);
  await batch([`link set ${n.hubPort(index)} ${up ? "up" : "down"}`], n.hubNs);
}

export function listNamespaces(prefix: string): string[] {
  try {
    return readdirSync("/run/netns").filter((f) => f.startsWith(prefix));
  } catch {
    return [];
  }
}

/** Deletes every namespace of the slot and the root-side link (sync: also runs from 'exit'). */
export function destroyNetSync(slot: number): string[] {
  const n = netNames(slot);
  const problems: string[] = [];
  const nss = listNamespaces(n.nsPrefix);
  if (nss.length > 0) {
    const r = runSync(["ip", "-force", "-batch", "-"], { input: nss.map((x) => `netns del ${x}`).join("\n") + "\n" });
    if (r.code !== 0) problems.push(`ip netns del: ${r.stderr.trim()}`);
  }
  // Normally gone with its peer in the hub namespace; a crash between the two steps of createHub can leave it.
  // The kernel removes it asynchronously after the namespace goes, so it may vanish between show
  // and del (iproute2 says "Cannot find device" or "No such device"): a failed del of a link that
  // is gone afterwards is what we want.
  if (runSync(["ip", "link", "show", n.rootLink]).code === 0) {
    const r = runSync(["ip", "link", "del", n.rootLink]);
    if (r.code !== 0 && runSync(["ip", "link", "show", n.rootLink]).code === 0) problems.push(`ip link del ${n.rootLink}: ${r.stderr.trim()}`);
  }
  return problems;
}
