// `roll: keepalived`: the director roll (director.ts) with keepalived.service as the daemon.
import type { Cluster } from "../inventory/model.js";
import { directorRoll } from "./director.js";
import type { Roll } from "./types.js";

export function keepalivedRoll(cluster: Cluster): Roll {
  return directorRoll(cluster, "keepalived");
}
