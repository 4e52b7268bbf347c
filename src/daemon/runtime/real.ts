// The real adapters, wired together (needs root / CAP_NET_ADMIN + CAP_NET_RAW and the addon).
import type { Logger } from "../log.js";
import { nativeInterfaces, nativeSockets } from "../native/index.js";
import { realClock } from "./clock.js";
import type { EngineDeps } from "./engine.js";
import type { AdoptionPorts } from "./adopt.js";
import { Kernel, PacketGarp, SpawnNotify } from "./kernel.js";
import { RawAdvertChannel } from "./raw-channel.js";

export function createRealDeps(log: Logger): Omit<EngineDeps, "log"> {
  const kernel = new Kernel(nativeSockets, nativeInterfaces, log.child({ part: "netlink" }));
  return {
    clock: realClock,
    channel: new RawAdvertChannel(nativeSockets, nativeInterfaces),
    addresses: kernel,
    net: kernel,
    garp: new PacketGarp(nativeSockets, nativeInterfaces),
    notify: new SpawnNotify(log.child({ part: "notify" })),
  };
}

/** For the main thread's adoption advert (adopt.ts): a kernel reader, a raw channel and an ARP
 * sender, all short-lived. */
export function createAdoptionPorts(log: Logger): AdoptionPorts {
  return {
    kernel: new Kernel(nativeSockets, nativeInterfaces, log.child({ part: "netlink" })),
    channel: () => new RawAdvertChannel(nativeSockets, nativeInterfaces),
    garp: () => new PacketGarp(nativeSockets, nativeInterfaces),
  };
}
