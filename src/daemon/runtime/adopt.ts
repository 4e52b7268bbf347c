// The prompt adoption advert: what keeps a crash restart from ever looking like a dead master.
//
// When lvsd is killed on the master, the VIPs stay on the interface and systemd starts lvsd again
// at once (RestartSec=0). The backup takes over when no advert arrives for its master-down interval
// (3 x advert_int + skew: 361 ms at VRRPv3 / 0.1 s). Node on the director needs ~100 ms to boot
// (Debian 12's Node 18 has no start-up snapshot) and the VRRP worker another ~50-70 ms before its
// first advert, which, with the time since the last advert before the crash, can exceed that
// interval. So the main thread sends the adverts the engine is about to send itself, as soon as the
// config is checked and before the worker is up: about 60 ms sooner.
//
// No second copy of the rules: adoptionAdverts() runs the engine itself (engine.ts, the pure step
// function underneath) on fakes seeded with the kernel's links and addresses, and keeps the adverts
// its start-up sends. Those are exactly the instances that adopt (our VIPs on the interface, no
// tracked link down, or priority 255), with their priority, source, peers and authentication; any
// other start sends nothing. The worker's engine then starts for real and sends the same advert
// again ~50 ms later, which a peer treats as one more advert from the same master.
//
// The gratuitous ARP the engine's start sends goes out with them. When the restart was slower than
// the peer's master-down interval (Node's start on a loaded or emulated host), the peer has taken
// the VIPs and sent its own gratuitous ARP: clients now send to the peer. Our advert makes it drop
// the VIPs at once, so without our ARP beside it those clients would send to a director without
// the VIPs until the worker's engine starts and sends it (seconds later there; a qemu lab run had a
// request time out after 3 s exactly so).
import { createLogger } from "../log.js";
import type { LvsdConfig } from "../config.js";
import { Engine } from "./engine.js";
import { FakeAddresses, FakeChannel, FakeClock, FakeGarp, FakeNet, FakeNotify } from "./fakes.js";
import type { AddressManager, AdvertChannel, ChannelEndpoint, GarpSender, LinkState, NetEvents, OutgoingAdvert } from "./ports.js";

/** What lvsd logs when it sent them (the lab's crash test looks for it). */
export const ADOPTION_ADVERTISED = "VIPs found at startup: adoption advertised before the VRRP engine started";

export type KernelAddress = Awaited<ReturnType<AddressManager["list"]>>[number];

export type AdoptionGarp = FakeGarp["sent"][number];

/** The adverts and gratuitous ARPs the engine sends the moment it starts on a host in this state
 * (none unless some instance adopts), and the channel endpoints the adverts go out on. Pure:
 * nothing leaves the process. */
export async function adoptionAdverts(cfg: LvsdConfig, links: readonly LinkState[], addrs: readonly KernelAddress[]): Promise<{ adverts: OutgoingAdvert[]; endpoints: ChannelEndpoint[]; garps: AdoptionGarp[] }> {
  const clock = new FakeClock(); // never advanced: only what start-up does at once
  const channel = new FakeChannel(clock);
  const addresses = new FakeAddresses();
  for (const a of addrs) addresses.seed(a.ifname, a.address, a.prefix, a.secondary);
  const net = new FakeNet([]);
  for (const l of links) net.linkState.set(l.ifname, l.up);
  const garp = new FakeGarp();
  const engine = new Engine({ clock, channel, addresses, net, garp, notify: new FakeNotify(), log: createLogger({ level: "error", sink: () => {} }) });
  await engine.start(cfg);
  // a new master's advert waits for its VIP additions (engine.ts): here they are at once
  await engine.idle();
  const adverts = channel.sent.map(({ at: _at, ...a }) => a);
  const used = new Set(adverts.map((a) => a.ifname));
  return { adverts, endpoints: channel.endpoints.filter((e) => used.has(e.ifname)), garps: adverts.length > 0 ? garp.sent : [] };
}

export interface AdoptionPorts {
  /** Read once, then closed. */
  kernel: Pick<NetEvents, "links" | "close"> & Pick<AddressManager, "list">;
  /** Opened only when there is something to send; closed at once after. */
  channel: () => AdvertChannel;
  /** The same, for the gratuitous ARPs sent after the adverts. */
  garp: () => GarpSender;
}

/** Reads the links and addresses, sends the adoption adverts (if any) and their gratuitous ARPs,
 * and closes everything. */
export async function announceAdoption(cfg: LvsdConfig, ports: AdoptionPorts): Promise<OutgoingAdvert[]> {
  let links: LinkState[];
  let addrs: KernelAddress[];
  try {
    links = await ports.kernel.links();
    addrs = await ports.kernel.list();
  } finally {
    ports.kernel.close();
  }
  const { adverts, endpoints, garps } = await adoptionAdverts(cfg, links, addrs);
  if (adverts.length === 0) return [];
  const channel = ports.channel();
  try {
    await channel.configure(endpoints);
    for (const a of adverts) channel.send(a);
  } finally {
    channel.close();
  }
  if (garps.length > 0) {
    const garp = ports.garp();
    try {
      for (const g of garps) await garp.send(g.ifname, g.addresses, g.count);
    } finally {
      garp.close();
    }
  }
  return adverts;
}
