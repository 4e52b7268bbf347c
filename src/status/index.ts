// `lvsctl status`: the cluster on one screen, for both backends. collect (ask the hosts, build the
// status), judge (what is wrong), formatStatus (the screen); clusterHealth for whoever must refuse
// to act on an unhealthy cluster (`lvsctl drill`).
import type { Cluster } from "../inventory/model.js";
import { collect, type CollectOptions } from "./collect.js";
import type { ClusterStatus, Problem, StatusProbe } from "./types.js";

export type * from "./types.js";
export { collect, gather, buildStatus, keepalivedTable, lvsdTable, realServerHosts, daemonUnit, type RawObservations, type RawDirector, type RawRealServer, type CollectOptions } from "./collect.js";
export { judge, exitCodeFor, EXIT_UNHEALTHY } from "./judge.js";
export { formatStatus } from "./format.js";
export { parseIpvsadmList, parseRealServerProbe, arpMissing, REALSERVER_PROBE } from "./facts.js";

export interface ClusterHealth {
  /** No problem at all. */
  healthy: boolean;
  /** Every problem, one sentence each (judge). */
  problems: Problem[];
  /** Hosts that could not be asked. */
  unreachable: string[];
  status: ClusterStatus;
}

/** Is the cluster fit (every host asked, nothing differs from the inventory, nothing down)? */
export async function clusterHealth(cluster: Cluster, probe: StatusProbe, opts: CollectOptions = {}): Promise<ClusterHealth> {
  const status = await collect(cluster, probe, opts);
  return { healthy: status.healthy, problems: status.problems, unreachable: status.problems.filter((p) => p.kind === "unreachable" && p.host).map((p) => p.host!), status };
}
