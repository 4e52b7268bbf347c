// From the config file's types (../config.ts, shared with lvsctl's renderer) to the state
// machine's parameters, plus the identity reload uses to tell "same instance" from "new one".
import type { LvsdConfig, LvsdInstance } from "../config.js";
import { GARP_DEFAULTS, type VrrpParams } from "../vrrp/types.js";
import { serviceKeyOf } from "../core/health.js";
import { serviceKeyFamily } from "../netlink/ipvs.js";

/** Reload identity (issue 4 item 5): an instance is "the same" when name, VRID and interface are. */
export function instanceIdentity(i: Pick<LvsdInstance, "name" | "vrid" | "interface">): string {
  return `${i.name}/${i.vrid}/${i.interface}`;
}

/** advertIntervalCs is centiseconds (config.ts header). */
export function advertIntervalMs(i: Pick<LvsdInstance, "advertIntervalCs">): number {
  return i.advertIntervalCs * 10;
}

export function toParams(i: LvsdInstance, primaryIp: string): VrrpParams {
  const repeat = i.garp.masterRepeat;
  return {
    name: i.name,
    vrid: i.vrid,
    interface: i.interface,
    priority: i.priority,
    version: i.version,
    advertIntervalMs: advertIntervalMs(i),
    initialState: i.state,
    nopreempt: i.nopreempt,
    preemptDelayMs: Math.round(i.preemptDelaySec * 1000),
    primaryIp,
    vips: i.vips.map((v) => ({ address: v.address, prefix: v.prefix, dev: v.dev, ...(v.label !== undefined ? { label: v.label } : {}) })),
    trackInterfaces: i.trackInterfaces,
    garp: {
      initialCount: repeat,
      repeatCount: i.garp.masterDelaySec > 0 ? repeat : 0,
      repeatDelayMs: Math.round(i.garp.masterDelaySec * 1000) || GARP_DEFAULTS.repeatDelayMs,
      // keepalived garp_lower_prio_repeat defaults to garp_master_repeat
      lowerPrioCount: repeat,
      refreshMs: Math.round(i.garp.masterRefreshSec * 1000),
      refreshCount: 1,
    },
  };
}

const serviceFamily = (s: LvsdConfig["services"][number]) => serviceKeyFamily(serviceKeyOf(s));

/** Problems lvsd cannot run with even though the schema accepts them (lvsd --check reports these). */
export function unsupported(cfg: LvsdConfig): string[] {
  const out: string[] = [];
  for (const i of cfg.instances) {
    for (const v of i.vips) if (v.address.includes(":")) out.push(`instance ${i.name}: IPv6 VIP ${v.address} is not supported by lvsd yet`);
    for (const p of i.unicastPeers) if (p.includes(":")) out.push(`instance ${i.name}: IPv6 unicast peer ${p} is not supported by lvsd yet`);
    if (i.version === 2 && i.advertIntervalCs % 100 !== 0) out.push(`instance ${i.name}: VRRPv2 carries whole seconds, advertIntervalCs ${i.advertIntervalCs} is not a multiple of 100`);
    if (i.authPass !== undefined && i.version === 3) out.push(`instance ${i.name}: VRRPv3 has no authentication (RFC 5798 §9); remove authPass`);
  }
  cfg.services.forEach((s, si) => {
    const where = `services[${si}] (${s.name})`;
    s.realServers.forEach((rs, ri) => {
      if (rs.tunnel && s.forwarding !== "TUN") out.push(`${where}.realServers[${ri}].tunnel: a tunnel type needs forwarding TUN, the service has ${s.forwarding}`);
    });
    if (typeof s.persistenceNetmask === "string" && serviceFamily(s) === "inet6") out.push(`${where}.persistenceNetmask ${s.persistenceNetmask}: an IPv4 mask on an IPv6 service; give a prefix length (1-128)`);
    if (typeof s.persistenceNetmask === "number" && serviceFamily(s) === "inet") out.push(`${where}.persistenceNetmask ${s.persistenceNetmask}: a prefix length on an IPv4 service; give a dotted netmask`);
    for (const f of s.schedulerFlags ?? []) {
      const needs = f.startsWith("sh-") ? "sh" : f.startsWith("mh-") ? "mh" : undefined;
      if (needs && s.scheduler !== needs) out.push(`${where}.schedulerFlags: ${f} is a flag of the ${needs} scheduler, the service uses ${s.scheduler}`);
    }
  });
  const seen = new Map<string, string>();
  for (const i of cfg.instances) {
    const k = `${i.interface}/${i.vrid}`;
    const prev = seen.get(k);
    if (prev) out.push(`instances ${prev} and ${i.name} share VRID ${i.vrid} on ${i.interface}`);
    seen.set(k, i.name);
  }
  return out;
}

/** JSON with sorted keys, to compare two configs of one instance. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x) && !Buffer.isBuffer(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}
