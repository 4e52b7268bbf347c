// `roll: lvsd`: the director roll (director.ts) with lvsd.service as the daemon. Its gate reads
// the kernel as keepalived's does (the VIPs held, `ipvsadm -Sn`): lvsd's status endpoint listens
// on the director's loopback only, and the kernel is what the traffic meets.
import type { Cluster } from "../inventory/model.js";
import { directorRoll } from "./director.js";
import type { Roll } from "./types.js";

export function lvsdRoll(cluster: Cluster): Roll {
  return directorRoll(cluster, "lvsd");
}
