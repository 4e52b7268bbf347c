// `roll: lvsd`: the director roll (director.ts) with lvsd.service as the daemon. Its gate reads
// the kernel as keepalived's does (the VIPs held, `ipvsadm -Sn`: what the traffic meets), then
// asks lvsd itself: GET /status on the director's loopback, through the SSH connection
// (lvsd-status.ts), since VIPs and a table left by a killed lvsd look the same as a running one's.
import type { Cluster } from "../inventory/model.js";
import { directorRoll } from "./director.js";
import type { Roll } from "./types.js";

export function lvsdRoll(cluster: Cluster): Roll {
  return directorRoll(cluster, "lvsd");
}
