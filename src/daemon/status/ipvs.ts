// The IPVS part of /status, from the config, the policy's view, the checks' snapshot and the
// reconciler's last dump. Pure.
import type { LvsdService } from "../config.js";
import { realServerId, serviceId, type RealServerHealthStatus } from "../core/health.js";
import type { DumpEntry } from "../ipvs/client.js";
import type { ServicePolicyView } from "../ipvs/policy.js";
import { destKeyText, serviceKeyText, type TableEntry } from "../ipvs/table.js";
import type { IpvsCounters, RealServerStatus, ServiceStatus } from "./types.js";

type Stats = { conns?: bigint; inpkts?: bigint; outpkts?: bigint; inbytes?: bigint; outbytes?: bigint } | undefined;

function counters(s: Stats): IpvsCounters | null {
  if (!s) return null;
  const n = (v: bigint | undefined) => Number(v ?? 0n);
  return { conns: n(s.conns), inpkts: n(s.inpkts), outpkts: n(s.outpkts), inbytes: n(s.inbytes), outbytes: n(s.outbytes) };
}

export function ipvsServiceStatus(
  services: readonly LvsdService[],
  views: readonly ServicePolicyView[],
  wanted: readonly TableEntry[],
  dump: readonly DumpEntry[],
  health: Record<string, RealServerHealthStatus>,
): ServiceStatus[] {
  const inKernel = new Map(dump.map((e) => [serviceKeyText(e.service.key), e]));
  const want = new Map(wanted.map((e) => [serviceKeyText(e.service.key), e]));
  return services.map((s, i) => {
    const id = serviceId(s);
    const k = inKernel.get(id);
    const w = want.get(id);
    const kDests = new Map((k?.dests ?? []).map((d) => [destKeyText(d), d]));
    const wDests = new Map((w?.dests ?? []).map((d) => [destKeyText(d), d]));
    const rs = (address: string, port: number, sorry: boolean): RealServerStatus => {
      const key = destKeyText({ address, port });
      const d = kDests.get(key);
      const h = health[realServerId(s, { address, port })];
      return {
        id: realServerId(s, { address, port }),
        address,
        port,
        sorry,
        health: h ? { checked: true, ...h } : { up: true, checked: false },
        wantedWeight: wDests.get(key)?.weight ?? null,
        weight: d ? d.weight : null,
        activeConns: d?.activeConns ?? 0,
        inactConns: d?.inactConns ?? 0,
        counters: counters(d?.stats),
      };
    };
    const view = views[i];
    return {
      id,
      name: s.name,
      scheduler: s.scheduler,
      inKernel: k !== undefined,
      quorum: view?.quorum ?? true,
      liveWeight: view?.liveWeight ?? 0,
      sorryServerActive: view?.sorryServerActive ?? false,
      counters: counters(k?.service.stats),
      realServers: [...s.realServers.map((r) => rs(r.address, r.port, false)), ...(s.sorryServer ? [rs(s.sorryServer.address, s.sorryServer.port, true)] : [])],
    };
  });
}
