// Policy: from the config's services and the real servers' health to the wanted IPVS table, with
// keepalived's rules (check/ipwrapper.c). Pure.
// - A real server that is down is removed, or kept at weight 0 with inhibit_on_failure.
// - misc_dynamic: a live real server takes the weight its check set.
// - Quorum per service, with hysteresis: live weight = the sum of the live real servers' weights;
//   quorum is lost when it falls below quorum - hysteresis (or to 0) and gained back at
//   quorum + hysteresis. While quorum is lost and the service has a sorry server, the sorry server
//   is the only destination (the live real servers are taken out, as keepalived's
//   perform_quorum_state does); without one, the live real servers stay.
import type { LvsdRealServer, LvsdService } from "../config.js";
import {
  IP_VS_SVC_F_ONEPACKET,
  IP_VS_SVC_F_PERSISTENT,
  IP_VS_SVC_F_SCHED1,
  IP_VS_SVC_F_SCHED2,
  IP_VS_SVC_F_SCHED3,
  IPVS_DEFAULT_NETMASK,
  serviceKeyFamily,
  type DestSpec,
  type FwdMethod,
  TUNNEL_CSUM,
  TUNNEL_TYPES,
} from "../netlink/ipvs.js";
import { ipv4MaskNumber, realServerId, serviceId, serviceKeyOf, type RealServerHealth } from "../core/health.js";
import { destRule, serviceRule, type DestRule, type TableEntry } from "./table.js";

const SCHED_FLAG: Record<NonNullable<LvsdService["schedulerFlags"]>[number], number> = {
  "flag-1": IP_VS_SVC_F_SCHED1,
  "sh-fallback": IP_VS_SVC_F_SCHED1,
  "mh-fallback": IP_VS_SVC_F_SCHED1,
  "flag-2": IP_VS_SVC_F_SCHED2,
  "sh-port": IP_VS_SVC_F_SCHED2,
  "mh-port": IP_VS_SVC_F_SCHED2,
  "flag-3": IP_VS_SVC_F_SCHED3,
};
const FWD: Record<LvsdService["forwarding"], FwdMethod> = { DR: "dr", NAT: "nat", TUN: "tun" };

/** Per service id: whether it has quorum (the state hysteresis needs between two evaluations). */
export type QuorumState = ReadonlyMap<string, boolean>;

export interface ServicePolicyView {
  id: string;
  name: string;
  quorum: boolean;
  liveWeight: number;
  sorryServerActive: boolean;
}

export interface WantedResult {
  table: TableEntry[];
  quorum: Map<string, boolean>;
  services: ServicePolicyView[];
}

function dest(s: LvsdService, rs: Pick<LvsdRealServer, "address" | "port" | "uthreshold" | "lthreshold" | "tunnel">, weight: number): DestRule {
  const d: DestSpec = { address: rs.address, port: rs.port, fwd: FWD[s.forwarding], weight };
  if (rs.uthreshold) d.uThresh = rs.uthreshold;
  if (rs.lthreshold) d.lThresh = rs.lthreshold;
  if (s.forwarding === "TUN" && rs.tunnel) {
    d.tunType = TUNNEL_TYPES[rs.tunnel.type];
    if (rs.tunnel.port !== undefined) d.tunPort = rs.tunnel.port;
    if (rs.tunnel.checksum !== undefined) d.tunFlags = TUNNEL_CSUM[rs.tunnel.checksum];
  }
  return destRule(d);
}

/** The wanted table for these services given each real server's health; `previous` is the last
 * evaluation's quorum state (absent: a service starts with quorum, as keepalived's does). */
export function wantedTable(services: readonly LvsdService[], health: (id: string) => RealServerHealth, previous: QuorumState = new Map()): WantedResult {
  const table: TableEntry[] = [];
  const quorum = new Map<string, boolean>();
  const views: ServicePolicyView[] = [];
  for (const s of services) {
    const key = serviceKeyOf(s);
    const family = serviceKeyFamily(key);
    let flags = 0;
    if (s.persistenceTimeoutSec !== undefined) flags |= IP_VS_SVC_F_PERSISTENT;
    if (s.onePacket) flags |= IP_VS_SVC_F_ONEPACKET;
    for (const f of s.schedulerFlags ?? []) flags |= SCHED_FLAG[f];
    // a dotted mask for IPv4, a prefix length for IPv6 (runtime/config.ts refuses the crossed pairs)
    const pm = s.persistenceNetmask;
    const netmask = typeof pm === "string" && family === "inet" ? ipv4MaskNumber(pm) : typeof pm === "number" && family === "inet6" ? pm : IPVS_DEFAULT_NETMASK[family];
    const service = serviceRule({ key, scheduler: s.scheduler, flags, timeout: s.persistenceTimeoutSec ?? 0, netmask });

    // per real server, its live weight (undefined: down)
    const live = s.realServers.map((rs) => {
      const h = health(realServerId(s, rs));
      return h.up ? (h.weight ?? rs.weight) : undefined;
    });
    const liveWeight = live.reduce<number>((n, w) => n + (w ?? 0), 0);
    const id = serviceId(s);
    const wasUp = previous.get(id) ?? true;
    const threshold = s.quorum + (wasUp ? -1 : 1) * s.hysteresis;
    const up = wasUp ? liveWeight > 0 && liveWeight >= threshold : liveWeight >= threshold;
    quorum.set(id, up);
    const sorry = !up && s.sorryServer !== undefined;

    const dests: DestRule[] = [];
    s.realServers.forEach((rs, i) => {
      const w = live[i];
      if (w !== undefined && !sorry) dests.push(dest(s, rs, w));
      else if (rs.inhibitOnFailure) dests.push(dest(s, rs, 0));
    });
    if (sorry) dests.push(dest(s, s.sorryServer!, 1));
    table.push({ service, dests });
    views.push({ id, name: s.name, quorum: up, liveWeight, sorryServerActive: sorry });
  }
  return { table, quorum, services: views };
}
