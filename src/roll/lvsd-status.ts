// The lvsd roll's second question, after the kernel's (director.ts): does lvsd itself agree? Its
// GET /status (read through the director's SSH connection: it listens on loopback only) must show
// the director's VRRP state as the VIPs it holds say, the inventory's services in its running
// config (a reload or restart that has not taken the new config yet fails here), and its IPVS
// table programmed: every service in the kernel, every real server at the weight lvsd wants.
// The kernel alone cannot tell a running lvsd from the VIPs and table a killed one left behind
// (lvsd adopts them on restart), so a gate that reads only the kernel passes as soon as the unit
// is active. Pure.
import type { Cluster } from "../inventory/model.js";
import type { StatusSnapshot } from "../daemon/status/types.js";
import { endpoint, serviceKey } from "./ipvs-table.js";
import type { VrrpRole } from "./vrrp-state.js";

/** lvsd names an IPv6 fwmark service "FWM 1 IPv6"; the inventory's key is "FWM6 1". */
export function lvsdServiceKey(id: string): string {
  const m = /^FWM (\d+) IPv6$/.exec(id);
  return m ? `FWM6 ${m[1]}` : id;
}

/**
 * What keeps lvsd's status on `director` from agreeing with the kernel and the inventory ([] when
 * it agrees). `roles` is the director's role per instance as the VIPs it holds give it.
 */
export function judgeLvsdStatus(cluster: Cluster, director: string, roles: Record<string, VrrpRole>, snap: StatusSnapshot): string[] {
  const out: string[] = [];
  const d = cluster.directors.find((x) => x.host.name === director);
  for (const inst of d?.instances ?? []) {
    const s = snap.instances.find((x) => x.name === inst.name);
    const role = roles[inst.name];
    if (!s) out.push(`${inst.name}: lvsd on ${director} does not run it (its running config is not the inventory's yet?)`);
    else if ((role === "MASTER" || role === "BACKUP") && s.state !== role) out.push(`${inst.name}: lvsd on ${director} says ${s.state}, while ${director} holds ${role === "MASTER" ? "its VIPs" : "none of its VIPs"}`);
  }
  if (cluster.services.length === 0) return out;
  const ipvs = snap.ipvs;
  if (!ipvs) return [...out, `lvsd on ${director} keeps no IPVS table: its running config has no service (the new config not loaded yet?)`];
  if (!ipvs.available) return [...out, `lvsd on ${director} cannot reach the kernel's IPVS: ${ipvs.error ?? "no reason given"}`];
  if (ipvs.passes === 0) return [...out, `lvsd on ${director} has not programmed IPVS yet`];
  if (ipvs.lastPass && !ipvs.lastPass.ok) out.push(`lvsd on ${director}: its last IPVS pass failed (${ipvs.lastPass.failed} write(s) failed; ${ipvs.lastPass.reason})`);
  const theirs = new Map(ipvs.services.map((s) => [lvsdServiceKey(s.id), s]));
  for (const s of cluster.services) {
    const key = serviceKey(s);
    const t = theirs.get(key);
    if (!t) {
      out.push(`service ${key} is not in lvsd's running config on ${director} (the new config not loaded yet?)`);
      continue;
    }
    if (!t.inKernel) out.push(`service ${key} is not in ${director}'s kernel table yet (lvsd on ${director})`);
    for (const r of t.realServers) {
      if (r.weight !== r.wantedWeight) {
        out.push(`service ${key}: real server ${endpoint(r.address, r.port)} has ${r.weight === null ? "no entry" : `weight ${r.weight}`} in ${director}'s kernel, lvsd wants ${r.wantedWeight === null ? "it out" : `weight ${r.wantedWeight}`}`);
      }
    }
  }
  return out;
}
