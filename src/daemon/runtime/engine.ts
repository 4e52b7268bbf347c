// The impure shell around the pure VRRP state machine: it owns the real timers, feeds events to
// stepGroup() and carries out the effects through the ports (ports.ts). One Engine runs every
// instance of the daemon; it runs inside the VRRP worker thread (worker.ts) so that nothing on
// the main thread can delay an advert.
//
// Ordering guarantees:
// - step() calls are synchronous and never interleave; effects are applied in the order emitted.
// - VIP add/remove for one instance go through one promise chain, so a quick MASTER -> BACKUP ->
//   MASTER never ends with the VIP removed.

import type { LvsdConfig, LvsdInstance, LvsdNotify } from "../config.js";
import { createLogger, RateLimitedLog, type Logger } from "../log.js";
import type { InstanceStatus, StatusSnapshot } from "../status/types.js";
import { checkAdvert } from "../vrrp/filter.js";
import { initialState, trackedInterfaces, type Effect, type InstanceState, type NotifyState, type TimerName, type VrrpEvent } from "../vrrp/state.js";
import { groupState, stepGroup, type SyncGroupDef } from "../vrrp/sync.js";
import type { VipSpec } from "../vrrp/types.js";
import { advertIntervalMs, instanceIdentity, stableJson, toParams } from "./config.js";
import type { AddressManager, AdvertChannel, ChannelEndpoint, Clock, GarpSender, IncomingAdvert, NetEvents, NotifyRunner, TimerHandle, VipAddress, WireReject } from "./ports.js";

export interface EngineDeps {
  clock: Clock;
  channel: AdvertChannel;
  addresses: AddressManager;
  net: NetEvents;
  garp: GarpSender;
  notify: NotifyRunner;
  log?: Logger;
  /** Bad-packet logs: at most one per reason per instance per this interval (default 10 s). */
  rejectLogIntervalMs?: number;
  /** Wall clock for status timestamps. */
  wallNow?: () => Date;
}

interface Inst {
  cfg: LvsdInstance;
  identity: string;
  primaryIp: string;
  timers: Map<TimerName, TimerHandle>;
  ops: Promise<void>;
  /** VIP additions queued on `ops` and not finished yet: an advert waits for them. */
  adding: number;
  log: Logger;
  stats: {
    transitions: number;
    lastTransition: InstanceStatus["lastTransition"];
    advertsSent: number;
    advertsReceived: number;
    rejected: Record<string, number>;
    vipsRestored: number;
    lowerPriorityAdverts: number;
  };
}

export interface ReloadSummary {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
}

export class Engine {
  readonly #d: EngineDeps;
  readonly #log: Logger;
  readonly #rl: RateLimitedLog;
  #cfg: LvsdConfig | undefined;
  #states = new Map<string, InstanceState>();
  #insts = new Map<string, Inst>();
  #groups = new Map<string, SyncGroupDef>(); // by member name
  #groupNotify = new Map<string, LvsdNotify>();
  #globalRejects: Record<string, number> = {};
  #pendingNotify = new Set<Promise<unknown>>();
  #startedAt = new Date();
  #stopped = false;

  constructor(deps: EngineDeps) {
    this.#d = deps;
    this.#log = deps.log ?? createLogger({ level: "warn" });
    this.#rl = new RateLimitedLog(this.#log, deps.rejectLogIntervalMs ?? 10_000, () => deps.clock.now());
    deps.channel.onAdvert((a) => this.#onAdvert(a));
    deps.channel.onReject((r) => this.#onWireReject(r));
    deps.net.onLink((l) => {
      for (const name of this.#insts.keys()) this.#dispatch(name, { type: l.up ? "linkUp" : "linkDown", ifname: l.ifname });
    });
    deps.net.onAddressDeleted((v) => this.#onAddressDeleted(v));
    deps.net.onResync(() => void this.verifyVips());
  }

  /** Puts back any VIP a master should hold but the kernel lacks (after lost netlink events). */
  async verifyVips(): Promise<void> {
    const present = await this.#d.addresses.list();
    for (const [name, inst] of this.#insts) {
      if (this.#states.get(name)?.state !== "MASTER") continue;
      for (const v of inst.cfg.vips) {
        if (!present.some((a) => a.ifname === v.dev && a.address === v.address)) this.#onAddressDeleted({ ifname: v.dev, address: v.address, prefix: v.prefix });
      }
    }
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async start(cfg: LvsdConfig): Promise<void> {
    this.#startedAt = this.#d.wallNow?.() ?? new Date();
    this.#cfg = cfg;
    const [links, addrs] = await Promise.all([this.#d.net.links(), this.#d.addresses.list()]);
    const allVips = vipAddresses(cfg);
    for (const i of cfg.instances) {
      const primary = pickPrimary(i, addrs, allVips);
      if (primary === "0.0.0.0") this.#log.warn("no IPv4 address on the interface: adverts go out with source 0.0.0.0 and ties cannot be broken", { instance: i.name, interface: i.interface });
      this.#create(i, primary);
    }
    this.#setGroups(cfg);
    await this.#d.channel.configure(this.#endpoints());
    const upSet = new Set(links.filter((l) => l.up).map((l) => l.ifname));
    const present = (i: LvsdInstance) => i.vips.some((v) => addrs.some((a) => a.ifname === v.dev && a.address === v.address));
    for (const i of cfg.instances) {
      const group = this.#groups.get(i.name);
      const members = group ? cfg.instances.filter((x) => group.members.includes(x.name)) : [i];
      const vipsPresent = members.some(present);
      const linksDown = trackedInterfaces(i).filter((n) => !upSet.has(n));
      if (vipsPresent) this.#insts.get(i.name)?.log.warn("VIPs found on the interface at startup: adopting them", { vips: i.vips.map((v) => v.address) });
      this.#dispatch(i.name, { type: "startup", vipsPresent, linksDown });
    }
  }

  /** SIGHUP: apply the difference. Unchanged instances keep their state, timers and VIPs. */
  async reload(cfg: LvsdConfig): Promise<ReloadSummary> {
    const sum: ReloadSummary = { added: [], removed: [], changed: [], unchanged: [] };
    const next = new Map(cfg.instances.map((i) => [i.name, i]));
    for (const [name, inst] of [...this.#insts]) {
      const n = next.get(name);
      if (!n || instanceIdentity(n) !== inst.identity) {
        this.#dispatch(name, { type: "shutdown" });
        this.#drop(name);
        sum.removed.push(name);
      }
    }
    const addrs = await this.#d.addresses.list();
    const allVips = vipAddresses(cfg);
    const fresh: LvsdInstance[] = [];
    for (const i of cfg.instances) {
      const cur = this.#insts.get(i.name);
      if (!cur) {
        this.#create(i, pickPrimary(i, addrs, allVips));
        fresh.push(i);
        sum.added.push(i.name);
      } else if (stableJson(cur.cfg) === stableJson(i)) {
        sum.unchanged.push(i.name);
      } else {
        cur.cfg = i;
        if (i.unicastSrcIp) cur.primaryIp = i.unicastSrcIp;
        this.#dispatch(i.name, { type: "reconfigure", params: toParams(i, cur.primaryIp) });
        sum.changed.push(i.name);
      }
    }
    this.#cfg = cfg;
    this.#setGroups(cfg);
    await this.#d.channel.configure(this.#endpoints());
    const links = await this.#d.net.links();
    const upSet = new Set(links.filter((l) => l.up).map((l) => l.ifname));
    for (const i of fresh) {
      const linksDown = trackedInterfaces(i).filter((n) => !upSet.has(n));
      this.#dispatch(i.name, { type: "startup", vipsPresent: false, linksDown });
    }
    this.#log.info("reloaded", { ...sum });
    return sum;
  }

  /** SIGTERM: masters send priority 0 and remove their VIPs; waits for that work to finish. */
  async shutdown(opts: { notifyTimeoutMs?: number } = {}): Promise<void> {
    if (this.#stopped) return;
    for (const name of [...this.#insts.keys()]) this.#dispatch(name, { type: "shutdown" });
    this.#stopped = true;
    await Promise.all([...this.#insts.values()].map((i) => i.ops));
    await Promise.race([Promise.all([...this.#pendingNotify]), new Promise((r) => setTimeout(r, opts.notifyTimeoutMs ?? 2000).unref())]);
    for (const name of [...this.#insts.keys()]) this.#cancelTimers(name);
    this.#d.channel.close();
    this.#d.net.close();
    this.#d.garp.close();
  }

  /** Resolves when every queued address operation has run (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.#insts.values()].map((i) => i.ops));
  }

  state(name: string): InstanceState | undefined {
    return this.#states.get(name);
  }

  // ---- status ---------------------------------------------------------------------------------

  snapshot(): StatusSnapshot {
    const now = this.#d.wallNow?.() ?? new Date();
    const instances: InstanceStatus[] = [];
    for (const [name, inst] of this.#insts) {
      const s = this.#states.get(name);
      if (!s) continue;
      instances.push({
        name,
        vrid: inst.cfg.vrid,
        interface: inst.cfg.interface,
        version: inst.cfg.version,
        state: s.state,
        priority: s.params.priority,
        advertIntervalMs: s.params.advertIntervalMs,
        masterAddress: s.state === "MASTER" ? inst.primaryIp : s.master?.address ?? null,
        primaryIp: inst.primaryIp,
        transitions: inst.stats.transitions,
        lastTransition: inst.stats.lastTransition,
        advertsSent: inst.stats.advertsSent,
        advertsReceived: inst.stats.advertsReceived,
        rejected: { ...inst.stats.rejected },
        vips: inst.cfg.vips.map((v) => `${v.address}/${v.prefix}`),
        vipsRestored: inst.stats.vipsRestored,
        lowerPriorityAdverts: inst.stats.lowerPriorityAdverts,
        syncGroup: this.#groups.get(name)?.name ?? null,
      });
    }
    const groups = new Map<string, SyncGroupDef>();
    for (const g of this.#groups.values()) groups.set(g.name, g);
    return {
      routerId: this.#cfg?.routerId ?? "",
      pid: process.pid,
      startedAt: this.#startedAt.toISOString(),
      uptimeSec: Math.round((now.getTime() - this.#startedAt.getTime()) / 1000),
      instances,
      syncGroups: [...groups.values()].map((g) => ({ name: g.name, members: [...g.members], state: groupState(this.#states, g.members) })),
      rejected: { ...this.#globalRejects },
    };
  }

  // ---- internals ------------------------------------------------------------------------------

  #create(i: LvsdInstance, primaryIp: string): void {
    this.#insts.set(i.name, {
      cfg: i,
      identity: instanceIdentity(i),
      primaryIp,
      timers: new Map(),
      ops: Promise.resolve(),
      adding: 0,
      log: this.#log.child({ instance: i.name }),
      stats: { transitions: 0, lastTransition: null, advertsSent: 0, advertsReceived: 0, rejected: {}, vipsRestored: 0, lowerPriorityAdverts: 0 },
    });
    this.#states.set(i.name, initialState(toParams(i, primaryIp)));
  }

  #drop(name: string): void {
    this.#cancelTimers(name);
    this.#insts.delete(name);
    this.#states.delete(name);
  }

  #cancelTimers(name: string): void {
    const inst = this.#insts.get(name);
    if (!inst) return;
    for (const h of inst.timers.values()) this.#d.clock.cancel(h);
    inst.timers.clear();
  }

  #setGroups(cfg: LvsdConfig): void {
    this.#groups.clear();
    this.#groupNotify.clear();
    for (const g of cfg.syncGroups) {
      const def: SyncGroupDef = { name: g.name, members: g.instances.filter((m) => this.#insts.has(m)) };
      for (const m of def.members) this.#groups.set(m, def);
      this.#groupNotify.set(g.name, g.notify);
    }
  }

  #endpoints(): ChannelEndpoint[] {
    return [...this.#insts.values()].map((i) => ({
      ifname: i.cfg.interface,
      vrid: i.cfg.vrid,
      version: i.cfg.version,
      source: i.primaryIp,
      unicastPeers: i.cfg.unicastPeers,
    }));
  }

  #dispatch(name: string, ev: VrrpEvent): void {
    if (!this.#insts.has(name)) return;
    const group = this.#groups.get(name) ?? null;
    const r = stepGroup(group, this.#states, name, ev, this.#d.clock.now());
    this.#states = r.states;
    for (const { instance, effect } of r.effects) this.#apply(instance, effect);
    if (group) for (const gs of r.groupNotify) this.#runGroupNotify(group, gs);
  }

  #apply(name: string, e: Effect): void {
    const inst = this.#insts.get(name);
    if (!inst) return;
    switch (e.kind) {
      case "setTimer": {
        const old = inst.timers.get(e.timer);
        if (old) this.#d.clock.cancel(old);
        const h = this.#d.clock.at(e.at, () => {
          inst.timers.delete(e.timer);
          this.#dispatch(name, { type: "timer", timer: e.timer });
        });
        inst.timers.set(e.timer, h);
        break;
      }
      case "cancelTimer": {
        const h = inst.timers.get(e.timer);
        if (h) this.#d.clock.cancel(h);
        inst.timers.delete(e.timer);
        break;
      }
      case "sendAdvert":
        // The state machine puts the VIPs on before the advert (enterMaster), but adding them is a
        // netlink round trip that can take a while on a busy host. The advert makes the old master
        // drop its VIPs at once, so sent first it would leave the VIPs on neither director until
        // ours are on: requests in that window are lost. It waits for queued additions instead.
        if (inst.adding > 0) this.#enqueue(inst, async () => this.#sendAdvert(inst, e.priority));
        else this.#sendAdvert(inst, e.priority);
        break;
      case "addVips":
      case "removeVips": {
        const add = e.kind === "addVips";
        const vips = e.vips.map((v) => toVipAddress(v, inst.cfg.interface));
        if (add) inst.adding++;
        this.#enqueue(inst, async () => {
          try {
            for (const v of vips) {
              const ok = add ? await this.#d.addresses.add(v) : await this.#d.addresses.del(v);
              if (!ok) inst.log.error(`could not ${add ? "add" : "remove"} VIP`, { vip: `${v.address}/${v.prefix}`, dev: v.ifname });
            }
            inst.log.info(add ? "VIPs added" : "VIPs removed", { vips: vips.map((v) => `${v.address}/${v.prefix}`) });
          } finally {
            if (add) inst.adding--;
          }
        });
        break;
      }
      case "garp": {
        const byDev = new Map<string, string[]>();
        for (const v of e.vips) byDev.set(v.dev ?? inst.cfg.interface, [...(byDev.get(v.dev ?? inst.cfg.interface) ?? []), v.address]);
        // after the VIPs are on, so the kernel answers the ARP replies it provokes
        this.#enqueue(inst, async () => {
          for (const [dev, addrs] of byDev) {
            await this.#d.garp.send(dev, addrs, e.count).catch((err: unknown) => inst.log.warn("gratuitous ARP failed", { dev, error: err }));
          }
        });
        break;
      }
      case "notify":
        this.#runNotify(inst, e.state, e.priority);
        break;
      case "transition":
        inst.stats.transitions++;
        inst.stats.lastTransition = { at: (this.#d.wallNow?.() ?? new Date()).toISOString(), from: e.from, to: e.to, reason: e.reason };
        break;
      case "log":
        if (e.limit === undefined) inst.log.log(e.level, e.msg, e.fields);
        else {
          if (e.limit === "lower-priority") inst.stats.lowerPriorityAdverts++;
          this.#rl.log(`${inst.cfg.name}/${e.limit}`, e.level, e.msg, { instance: inst.cfg.name, ...e.fields });
        }
        break;
    }
  }

  #sendAdvert(inst: Inst, priority: number): void {
    inst.stats.advertsSent++;
    try {
      this.#d.channel.send({
        ifname: inst.cfg.interface,
        vrid: inst.cfg.vrid,
        version: inst.cfg.version,
        priority,
        intervalMs: advertIntervalMs(inst.cfg),
        addresses: inst.cfg.vips.map((v) => v.address),
        source: inst.primaryIp,
        ...(inst.cfg.authPass !== undefined ? { authPass: inst.cfg.authPass } : {}),
        unicastPeers: inst.cfg.unicastPeers,
      });
    } catch (err) {
      this.#rl.log(`${inst.cfg.name}/send`, "warn", "advert send failed", { instance: inst.cfg.name, error: err });
    }
  }

  #enqueue(inst: Inst, job: () => Promise<void>): void {
    inst.ops = inst.ops.then(job).catch((err: unknown) => inst.log.error("address operation failed", { error: err }));
  }

  #runNotify(inst: Inst, state: NotifyState, priority: number): void {
    this.#runScripts(inst.cfg.notify, state, { instance: inst.cfg.name, state }, ["INSTANCE", inst.cfg.name, state, String(priority)]);
  }

  #runGroupNotify(group: SyncGroupDef, state: NotifyState): void {
    const n = this.#groupNotify.get(group.name);
    this.#log.info(`sync group entering ${state} state`, { group: group.name });
    // keepalived passes no priority for a GROUP
    if (n) this.#runScripts(n, state, { group: group.name, state }, ["GROUP", group.name, state]);
  }

  /** The state's own script, then keepalived's generic `notify` with `genericArgs` appended
   * ($1 INSTANCE|GROUP, $2 name, $3 state, $4 priority). */
  #runScripts(n: LvsdNotify, state: NotifyState, meta: Record<string, unknown>, genericArgs: string[]): void {
    const specific = { MASTER: n.master, BACKUP: n.backup, FAULT: n.fault, STOP: n.stop }[state];
    if (specific) this.#track(this.#d.notify.run(specific, meta));
    if (n.generic) this.#track(this.#d.notify.run([...n.generic, ...genericArgs], meta));
  }

  #track(p: Promise<unknown>): void {
    this.#pendingNotify.add(p);
    void p.finally(() => this.#pendingNotify.delete(p));
  }

  #findInstance(ifname: string, vrid: number): string | undefined {
    for (const [name, i] of this.#insts) if (i.cfg.interface === ifname && i.cfg.vrid === vrid) return name;
    return undefined;
  }

  #onAdvert(a: IncomingAdvert): void {
    if (this.#stopped) return;
    const name = this.#findInstance(a.ifname, a.vrid);
    if (!name) {
      this.#globalRejects.vrid = (this.#globalRejects.vrid ?? 0) + 1;
      // one key per interface, not per VRID: a flood cycling through 255 VRIDs still writes one line
      // per interval (the counter stays exact)
      this.#rl.log(`vrid/${a.ifname}`, "info", "advert for a VRID we do not run: ignored", { ifname: a.ifname, vrid: a.vrid, from: a.source, reason: "vrid" });
      return;
    }
    const inst = this.#insts.get(name)!;
    const r = checkAdvert(a, {
      version: inst.cfg.version,
      advertIntervalMs: advertIntervalMs(inst.cfg),
      ...(inst.cfg.authPass !== undefined ? { authPass: inst.cfg.authPass } : {}),
      vips: inst.cfg.vips,
      unicastPeers: inst.cfg.unicastPeers,
      ...(inst.cfg.v3ChecksumLenient ? { v3ChecksumLenient: true } : {}),
    });
    if (!r.ok) {
      inst.stats.rejected[r.reason] = (inst.stats.rejected[r.reason] ?? 0) + 1;
      this.#rl.log(`${name}/${r.reason}`, "warn", "advert rejected", { instance: name, reason: r.reason, detail: r.detail, from: a.source });
      return;
    }
    if (r.warnings.length > 0) this.#rl.log(`${name}/addresses`, "info", "advert's address list differs from ours (accepted, as keepalived does)", { instance: name, from: a.source, theirs: a.addresses });
    inst.stats.advertsReceived++;
    this.#dispatch(name, { type: "advert", advert: { priority: a.priority, source: a.source, version: a.version, intervalMs: a.intervalMs } });
  }

  #onWireReject(r: WireReject): void {
    this.#globalRejects[r.reason] = (this.#globalRejects[r.reason] ?? 0) + 1;
    this.#rl.log(`wire/${r.reason}`, "warn", "packet rejected", { reason: r.reason, ...(r.detail ? { detail: r.detail } : {}), ...(r.source ? { from: r.source } : {}), ...(r.ifname ? { ifname: r.ifname } : {}) });
  }

  #onAddressDeleted(v: { ifname: string; address: string; prefix: number }): void {
    if (this.#stopped) return;
    for (const [name, inst] of this.#insts) {
      if (this.#states.get(name)?.state !== "MASTER") continue;
      const vip = inst.cfg.vips.find((x) => x.address === v.address && x.dev === v.ifname);
      if (!vip) continue;
      const addr = toVipAddress(vip, inst.cfg.interface);
      // The event alone does not say the VIP is gone now: it may be the late echo of our own
      // delete (we left MASTER and came back, or a reload took the VIP out and put it back). So
      // behind the instance's queued changes, the kernel's list decides.
      this.#enqueue(inst, async () => {
        if (this.#states.get(name)?.state !== "MASTER") return;
        const present = await this.#d.addresses.list();
        if (present.some((a) => a.ifname === addr.ifname && a.address === addr.address)) return;
        inst.stats.vipsRestored++;
        inst.log.warn("VIP removed by someone else while master: putting it back", { vip: `${v.address}/${vip.prefix}`, dev: v.ifname });
        await this.#d.addresses.add(addr);
        await this.#d.garp.send(addr.ifname, [addr.address], 1).catch(() => undefined);
      });
    }
  }
}

/** Every VIP of the config: never an advert's source address (pickPrimary). */
function vipAddresses(cfg: LvsdConfig): Set<string> {
  return new Set(cfg.instances.flatMap((i) => i.vips.map((v) => v.address)));
}

function toVipAddress(v: VipSpec, defaultDev: string): VipAddress {
  return { ifname: v.dev ?? defaultDev, address: v.address, prefix: v.prefix, ...(v.label !== undefined ? { label: v.label } : {}) };
}

/** The advert source: unicastSrcIp, else the interface's first primary IPv4 that is not a VIP. */
export function pickPrimary(
  i: LvsdInstance,
  addrs: ReadonlyArray<{ ifname: string; address: string; secondary: boolean }>,
  vips: ReadonlySet<string>,
): string {
  if (i.unicastSrcIp) return i.unicastSrcIp;
  const mine = addrs.filter((a) => a.ifname === i.interface && !vips.has(a.address));
  const best = mine.find((a) => !a.secondary) ?? mine[0];
  // No address: keep going with 0.0.0.0 (the kernel fills the source); logged by the caller.
  return best?.address ?? "0.0.0.0";
}
