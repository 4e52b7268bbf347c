// The VRRP state machine of one instance, as a pure step function (STYLE.md habit 4):
//
//   step(state, event, now) -> { next, effects }
//
// No timers, sockets or clocks in here: `now` is a number of milliseconds from any monotonic
// origin, timers are deadlines the runtime arms when it sees a `setTimer` effect, and everything
// else the outside world must do (send an advert, add a VIP, run a notify script) is an effect.
//
//                      startup (owner 255, or our VIPs already on the interface)
//        +--------+ ---------------------------------------------------------------+
//        |  INIT  |                                                                |
//        +--------+ --startup--+                                                   v
//            |                 |                                             +----------+
//            | startup,        v          master-down timer, or             |          |
//            | link down  +--------+ ----- sync MASTER -------------------> |  MASTER  |
//            |            | BACKUP |                                        |          |
//            |            +--------+ <--- higher (or equal, higher IP) ---- +----------+
//            v             ^   |  ^        advert, or sync BACKUP              |   ^ |
//        +--------+        |   |  |                                            |   | | lower-prio
//        | FAULT  | <------+---+  +---- link up (not owner) --+                |   | | advert:
//        +--------+   link down / sync FAULT                  |   link down /  |   +-+ re-send +
//            ^  |                                             |   sync FAULT   |     gratuitous
//            |  +---------------------------------------------+                |     ARP
//            +-----------------------------------------------------------------+
//                     any state --shutdown--> STOPPED (a master sends priority 0 first)
//
// The transition table (RFC 3768 §6.4 for v2, RFC 5798 §6.4 for v3; "ka" marks where we follow
// keepalived 2.2 because the RFC leaves room or says nothing):
//
//  state   event                          condition                       -> next   effects
//  INIT    startup                        a tracked link is down             FAULT   (remove VIPs)
//  INIT    startup                        priority 255 (§6.4.1)              MASTER  VIPs, advert, GARP
//  INIT    startup                        our VIPs present (adoption, *)     MASTER  VIPs, advert, GARP
//                                                                                    (nopreempt: at priority 1
//                                                                                    for a master-down interval)
//  INIT    startup                        otherwise, even `state MASTER`     BACKUP  down timer = 3*int + skew
//                                         (§6.4.1; keepalived 2.2.7 too)
//  BACKUP  master-down timer              (held by its sync group: wait)     MASTER  as above (§6.4.2)
//  BACKUP  advert prio 0                  (§6.4.2)                           BACKUP  down timer = skew
//  BACKUP  advert prio >= ours, or        nopreempt, or inside the           BACKUP  down timer reset; v3:
//          any prio with nopreempt        preempt_delay window (ka)                  learn master's interval
//  BACKUP  advert prio < ours             preempt on (§6.4.2 "discard")      BACKUP  timer NOT reset, so we
//                                                                                    take over when it fires
//  BACKUP  preempt-delay timer            (ka preempt_delay over)            BACKUP  lower masters now discarded
//  MASTER  advert timer                   (§6.4.3)                           MASTER  advert, re-arm
//  MASTER  GARP repeat / refresh timer    (ka garp_master_delay/_refresh)    MASTER  GARP burst (refresh re-arms)
//  MASTER  advert prio 0                  (§6.4.3)                           MASTER  advert now, re-arm
//  MASTER  advert prio > ours, or equal   (§6.4.3)                           BACKUP  remove VIPs, v3: learn
//          with a higher source address                                              interval, down timer;
//                                                                                    one parting advert (*2)
//  MASTER  advert prio < ours (or equal,  split brain healing (ka:           MASTER  advert now + GARP
//          lower address)                 "forcing new election")                    (peers.md item 1)
//  any     link down (tracked)            (ka track_interface)               FAULT   master: prio-0 advert,
//                                                                                    remove VIPs
//  FAULT   link up                        all tracked links up, no sync      BACKUP  down timer (owner: MASTER)
//                                         fault
//  any     shutdown                       (§6.4.3 / ka)                      STOPPED master: prio-0 advert,
//                                                                                    remove VIPs; notify stop
//  *       sync MASTER/BACKUP/FAULT       the instance's sync group moved    (same)  see sync.ts
//
// (*) Adoption: lvsd restarted after a crash (SIGKILL) finds its VIPs still on the interface. It
// resumes as MASTER at once and sends an advert, so the VIP never leaves and backups, whose
// master-down timers were still running, simply reset them. If another router did become master
// meanwhile, the two adverts cross within one interval and the normal rules (§6.4.3: higher
// priority, then higher address, wins) leave exactly one master. keepalived instead starts in
// BACKUP and removes the VIPs it finds, which is exactly the flap the requirement forbids.
// Residual risk, documented: an operator who put the VIP on the interface by hand makes lvsd claim
// mastership for at most one interval.
//
// With nopreempt a restart must not steal mastership that nopreempt would not. For one
// master-down interval after adopting (the adoption window) the instance advertises, and compares
// itself, at PRIORITY_ADOPTING (1) instead of its own priority: a master that took over meanwhile
// hears a lower master and re-asserts (it does not yield, as it would to our real priority), and
// we yield to its answer; with no master around the backups, nopreempt too, reset their timers on
// any advert, so we keep the VIPs. After the window we advertise our real priority again. Only a
// priority-1 master with a lower address loses to us; it yields, and we stay. Not covered: a
// backup of the same instance without nopreempt (lvsctl sets nopreempt per instance, so only a
// hand-written lvsd.json mixes them) discards our priority 1 and takes over when its timer runs out.
//
// (*2) Parting advert: a master that yields sends one last advert at its own priority, so the
// winner always hears a lower master once and re-announces (split brain healing, see
// onAdvertMaster).

import { masterDownMs, PRIORITY_ADOPTING, PRIORITY_OWNER, PRIORITY_STOP, skewMs } from "./timers.js";
import { compareIPv4, type ReceivedAdvert, type VipSpec, type VrrpParams } from "./types.js";

export type StateName = "INIT" | "BACKUP" | "MASTER" | "FAULT" | "STOPPED";
export type TimerName = "masterDown" | "advert" | "preemptDelay" | "garpRepeat" | "garpRefresh";
export type NotifyState = "MASTER" | "BACKUP" | "FAULT" | "STOP";
export type SyncTarget = "MASTER" | "BACKUP" | "FAULT" | "FAULT_CLEAR";

export type VrrpEvent =
  | { type: "startup"; vipsPresent: boolean; linksDown: readonly string[] }
  | { type: "advert"; advert: ReceivedAdvert }
  /** `hold`: the sync group is not ready for this member to become master (sync.ts). */
  | { type: "timer"; timer: TimerName; hold?: boolean }
  | { type: "linkDown"; ifname: string }
  | { type: "linkUp"; ifname: string }
  | { type: "shutdown" }
  | { type: "reconfigure"; params: VrrpParams }
  | { type: "sync"; to: SyncTarget };

export type LogLevel = "debug" | "info" | "warn" | "error";

export type Effect =
  | { kind: "sendAdvert"; priority: number }
  | { kind: "setTimer"; timer: TimerName; at: number }
  | { kind: "cancelTimer"; timer: TimerName }
  | { kind: "addVips"; vips: readonly VipSpec[] }
  | { kind: "removeVips"; vips: readonly VipSpec[] }
  | { kind: "garp"; vips: readonly VipSpec[]; count: number }
  | { kind: "notify"; state: NotifyState; priority: number }
  | { kind: "transition"; from: StateName; to: StateName; reason: string }
  | { kind: "log"; level: LogLevel; msg: string; fields?: Record<string, unknown>; limit?: LimitedLog };

/** A log line a peer can provoke once per advert: the runtime counts every one and writes at most
 * one line per instance and kind per interval (STYLE.md habit 5), so a flood cannot fill the journal. */
export type LimitedLog = "lower-priority";

export interface MasterSeen {
  address: string;
  priority: number;
}

export interface InstanceState {
  readonly params: VrrpParams;
  readonly state: StateName;
  /** v3: the interval the current master advertises (RFC 5798 §6.1); v2: the configured one. */
  readonly masterAdverIntervalMs: number;
  /** The other router we last accepted as master (null when we are master or none is known). */
  readonly master: MasterSeen | null;
  /** Tracked interfaces whose link is down. */
  readonly linksDown: readonly string[];
  /** Forced into FAULT by a sync group member. */
  readonly syncFault: boolean;
  /** Armed timers and their deadlines; mirrors the setTimer/cancelTimer effects. */
  readonly timers: Readonly<Partial<Record<TimerName, number>>>;
  /** keepalived preempt_time: before this instant a lower-priority master is tolerated. */
  readonly preemptAt: number | null;
  /** The master-down timer fired but the sync group held us back (sync.ts). */
  readonly masterDownExpired: boolean;
  /** End of the adoption window (see the note above), or null. */
  readonly adoptedUntil: number | null;
}

export interface StepResult {
  next: InstanceState;
  effects: Effect[];
}

export function initialState(params: VrrpParams): InstanceState {
  return {
    params,
    state: "INIT",
    masterAdverIntervalMs: params.advertIntervalMs,
    master: null,
    linksDown: [],
    syncFault: false,
    timers: {},
    preemptAt: null,
    masterDownExpired: false,
    adoptedUntil: null,
  };
}

/** The interfaces whose link state matters to this instance (its own is always tracked). */
export function trackedInterfaces(p: Pick<VrrpParams, "interface" | "trackInterfaces">): string[] {
  return [...new Set([p.interface, ...p.trackInterfaces])];
}

/** Our configured priority: timers (skew), notify scripts. */
function prio(s: InstanceState): number {
  return s.params.priority;
}

/** Priority carried in our adverts and compared in an election: PRIORITY_ADOPTING inside a
 * nopreempt adoption window (see the note above), else the configured one. */
function advertPrio(s: InstanceState, now: number): number {
  return s.params.nopreempt && s.adoptedUntil !== null && now < s.adoptedUntil ? PRIORITY_ADOPTING : s.params.priority;
}

function downInterval(s: InstanceState): number {
  return masterDownMs(prio(s), s.masterAdverIntervalMs);
}

/** A small builder so each transition reads as a list of effects. */
class Tx {
  s: InstanceState;
  readonly effects: Effect[] = [];
  constructor(s: InstanceState) {
    this.s = s;
  }
  set(patch: Partial<InstanceState>): this {
    this.s = { ...this.s, ...patch };
    return this;
  }
  emit(e: Effect): this {
    this.effects.push(e);
    return this;
  }
  arm(timer: TimerName, at: number): this {
    this.s = { ...this.s, timers: { ...this.s.timers, [timer]: at } };
    return this.emit({ kind: "setTimer", timer, at });
  }
  cancel(timer: TimerName): this {
    if (this.s.timers[timer] === undefined) return this;
    const timers = { ...this.s.timers };
    delete timers[timer];
    this.s = { ...this.s, timers };
    return this.emit({ kind: "cancelTimer", timer });
  }
  cancelAll(): this {
    for (const t of Object.keys(this.s.timers) as TimerName[]) this.cancel(t);
    return this;
  }
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>, limit?: LimitedLog): this {
    return this.emit({ kind: "log", level, msg, ...(fields ? { fields } : {}), ...(limit ? { limit } : {}) });
  }
  moveTo(to: StateName, reason: string): this {
    const from = this.s.state;
    this.s = { ...this.s, state: to };
    this.emit({ kind: "transition", from, to, reason });
    return this.log("info", `entering ${to} state`, { from, reason });
  }
  done(): StepResult {
    return { next: this.s, effects: this.effects };
  }
}

function enterMaster(tx: Tx, now: number, reason: string): Tx {
  const p = tx.s.params;
  tx.cancel("masterDown").cancel("preemptDelay");
  tx.set({ master: null, masterDownExpired: false, masterAdverIntervalMs: p.advertIntervalMs });
  tx.moveTo("MASTER", reason);
  // §6.4.1/§6.4.2: send an advert, broadcast gratuitous ARP, start the Adver_Timer. The VIPs go
  // on first so the kernel answers for them by the time the ARP reaches the neighbours.
  if (p.vips.length > 0) tx.emit({ kind: "addVips", vips: p.vips });
  tx.emit({ kind: "sendAdvert", priority: advertPrio(tx.s, now) });
  if (p.vips.length > 0 && p.garp.initialCount > 0) tx.emit({ kind: "garp", vips: p.vips, count: p.garp.initialCount });
  tx.arm("advert", now + p.advertIntervalMs);
  if (p.vips.length > 0 && p.garp.repeatCount > 0) tx.arm("garpRepeat", now + p.garp.repeatDelayMs);
  if (p.vips.length > 0 && (p.garp.refreshMs ?? 0) > 0) tx.arm("garpRefresh", now + p.garp.refreshMs!);
  return tx.emit({ kind: "notify", state: "MASTER", priority: prio(tx.s) });
}

function leaveMasterEffects(tx: Tx, resignPriority: number | null): Tx {
  tx.cancel("advert").cancel("garpRepeat").cancel("garpRefresh");
  if (resignPriority !== null) tx.emit({ kind: "sendAdvert", priority: resignPriority });
  if (tx.s.params.vips.length > 0) tx.emit({ kind: "removeVips", vips: tx.s.params.vips });
  return tx;
}

function enterBackup(tx: Tx, now: number, reason: string, downAfterMs: number): Tx {
  const wasMaster = tx.s.state === "MASTER";
  if (wasMaster) leaveMasterEffects(tx, null);
  tx.set({ masterDownExpired: false, adoptedUntil: null });
  tx.moveTo("BACKUP", reason);
  tx.arm("masterDown", now + downAfterMs);
  return tx.emit({ kind: "notify", state: "BACKUP", priority: prio(tx.s) });
}

function enterFault(tx: Tx, reason: string): Tx {
  // keepalived sends priority 0 when a master goes to FAULT so the backup takes over in the skew
  // time; if our own link is the one down, the send fails and the backup times out instead.
  if (tx.s.state === "MASTER") leaveMasterEffects(tx, PRIORITY_STOP);
  tx.cancelAll();
  tx.set({ master: null, masterDownExpired: false, adoptedUntil: null });
  tx.moveTo("FAULT", reason);
  return tx.emit({ kind: "notify", state: "FAULT", priority: prio(tx.s) });
}

function leaveFault(tx: Tx, now: number, reason: string): Tx {
  if (prio(tx.s) === PRIORITY_OWNER) return enterMaster(tx, now, `${reason}; address owner`);
  armStartupPreemptDelay(tx, now);
  return enterBackup(tx, now, reason, downInterval(tx.s));
}

/** ka: preempt_delay counts from startup (and from leaving FAULT), keepalived.conf(5). */
function armStartupPreemptDelay(tx: Tx, now: number): void {
  const p = tx.s.params;
  if (p.preemptDelayMs > 0 && !p.nopreempt) {
    tx.set({ preemptAt: now + p.preemptDelayMs });
    tx.arm("preemptDelay", now + p.preemptDelayMs);
  }
}

function isTracked(s: InstanceState, ifname: string): boolean {
  return trackedInterfaces(s.params).includes(ifname);
}

function onStartup(tx: Tx, now: number, ev: { vipsPresent: boolean; linksDown: readonly string[] }): Tx {
  const p = tx.s.params;
  const down = ev.linksDown.filter((i) => isTracked(tx.s, i));
  tx.set({ linksDown: down, masterAdverIntervalMs: p.advertIntervalMs });
  if (down.length > 0) {
    // VIPs left behind by a crash must not stay on a router that cannot advertise them.
    if (ev.vipsPresent && p.vips.length > 0) tx.emit({ kind: "removeVips", vips: p.vips });
    return enterFault(tx, `link down: ${down.join(", ")}`);
  }
  if (p.priority === PRIORITY_OWNER) return enterMaster(tx, now, "address owner (priority 255)");
  if (ev.vipsPresent) {
    tx.set({ adoptedUntil: now + downInterval(tx.s) });
    if (p.nopreempt) {
      tx.log("info", "nopreempt: advertising the adoption at the lowest priority, so a master that took over keeps the VIPs", {
        priority: PRIORITY_ADOPTING,
        untilMs: tx.s.adoptedUntil! - now,
      });
    }
    return enterMaster(tx, now, "adopted VIPs already on the interface (restart)");
  }
  armStartupPreemptDelay(tx, now);
  // §6.4.1: a non-owner starts in Backup with the full Master_Down_Interval, whatever its
  // configured initial state. keepalived 2.2.7 does the same: measured here, `state MASTER`
  // priority 100 alone on a link put its VIP up 3.7 s after start (3.61 s + startup).
  return enterBackup(tx, now, p.initialState === "MASTER" ? "startup (configured MASTER)" : "startup", downInterval(tx.s));
}

function onAdvertBackup(tx: Tx, now: number, a: ReceivedAdvert): Tx {
  const p = tx.s.params;
  if (a.priority === PRIORITY_STOP) {
    // §6.4.2: "If the Priority in the ADVERTISEMENT is zero, then: Set the Master_Down_Timer to
    // Skew_Time".
    tx.set({ master: null, masterDownExpired: false });
    tx.log("info", "master resigned (priority 0)", { from: a.source });
    return tx.arm("masterDown", now + skewMs(p.priority, tx.s.masterAdverIntervalMs));
  }
  const inPreemptWindow = p.preemptDelayMs > 0 && (tx.s.preemptAt === null || now < tx.s.preemptAt);
  if (p.nopreempt || a.priority >= p.priority || inPreemptWindow) {
    if (p.preemptDelayMs > 0 && !p.nopreempt) {
      // ka vrrp_state_backup: a higher master restarts the delay, a first lower one starts it.
      if (a.priority > p.priority || tx.s.preemptAt === null) {
        tx.set({ preemptAt: now + p.preemptDelayMs });
        tx.arm("preemptDelay", now + p.preemptDelayMs);
      }
    }
    // §6.4.2 (v3): set Master_Adver_Interval to the advert's interval, recompute the down interval.
    if (p.version === 3) tx.set({ masterAdverIntervalMs: a.intervalMs });
    tx.set({ master: { address: a.source, priority: a.priority }, masterDownExpired: false });
    return tx.arm("masterDown", now + downInterval(tx.s));
  }
  // §6.4.2: preempt on and a lower priority: discard, so the master-down timer runs out.
  if (tx.s.master?.address !== a.source || tx.s.master.priority !== a.priority) {
    tx.log("info", "lower priority master seen; preempting when the master-down timer fires", {
      from: a.source,
      priority: a.priority,
    }, "lower-priority");
  }
  return tx.set({ master: { address: a.source, priority: a.priority } });
}

function onAdvertMaster(tx: Tx, now: number, a: ReceivedAdvert): Tx {
  const p = tx.s.params;
  const ours = advertPrio(tx.s, now);
  if (a.priority === PRIORITY_STOP) {
    // §6.4.3: another router resigned; "Send an ADVERTISEMENT, Reset the Adver_Timer".
    tx.emit({ kind: "sendAdvert", priority: ours });
    return tx.arm("advert", now + p.advertIntervalMs);
  }
  // Inside a nopreempt adoption window we compare at the priority we advertise (1), so any live
  // master but a priority-1 one with a lower address wins, exactly as it judges us (note above).
  const theyWin = a.priority > ours || (a.priority === ours && compareIPv4(a.source, p.primaryIp) > 0);
  if (theyWin) {
    // §6.4.3: cancel the Adver_Timer, (v3) learn the master's interval, set the Master_Down_Timer,
    // transition to Backup.
    if (p.version === 3) tx.set({ masterAdverIntervalMs: a.intervalMs });
    tx.set({ master: { address: a.source, priority: a.priority } });
    const why = ours === p.priority
      ? `higher priority master ${a.source} (${a.priority} vs ${p.priority})`
      : `master ${a.source} found after adoption, nopreempt`;
    // Parting advert (ours, not in the RFC): after a split brain the winner may never hear from
    // us if its advert reaches us first, and the neighbours' ARP caches still point here. One
    // more advert at our priority makes the winner see "a lower master" and re-announce its
    // VIPs with gratuitous ARP (keepalived does the same on a lower-priority advert).
    tx.emit({ kind: "sendAdvert", priority: ours });
    return enterBackup(tx, now, why, downInterval(tx.s));
  }
  // ka "forcing new election": a lower master means a split brain is healing; answer at once and
  // re-announce the VIPs so neighbours' ARP caches point here again (peers.md item 1).
  tx.log("warn", "lower priority master seen: re-asserting mastership", { from: a.source, priority: a.priority }, "lower-priority");
  tx.emit({ kind: "sendAdvert", priority: ours });
  if (p.vips.length > 0 && p.garp.lowerPrioCount > 0) tx.emit({ kind: "garp", vips: p.vips, count: p.garp.lowerPrioCount });
  return tx.arm("advert", now + p.advertIntervalMs);
}

function onTimer(tx: Tx, now: number, timer: TimerName, hold: boolean): Tx {
  const deadline = tx.s.timers[timer];
  if (deadline === undefined) return tx; // stale: cancelled after it was queued
  const p = tx.s.params;
  switch (timer) {
    case "masterDown":
      tx.cancel("masterDown");
      if (tx.s.state !== "BACKUP") return tx;
      if (hold) {
        tx.set({ masterDownExpired: true });
        return tx.log("info", "master down, waiting for the rest of the sync group");
      }
      return enterMaster(tx, now, tx.s.master ? `no advert from ${tx.s.master.address} within master-down interval` : "no master heard");
    case "advert": {
      if (tx.s.state !== "MASTER") return tx.cancel("advert");
      tx.emit({ kind: "sendAdvert", priority: advertPrio(tx.s, now) });
      // Keep the cadence: the next deadline follows the last one, not the (possibly late) now.
      let next = deadline + p.advertIntervalMs;
      if (next <= now) next = now + p.advertIntervalMs;
      return tx.arm("advert", next);
    }
    case "preemptDelay":
      tx.cancel("preemptDelay");
      return tx.log("debug", "preempt delay over");
    case "garpRepeat":
      tx.cancel("garpRepeat");
      if (tx.s.state === "MASTER" && p.vips.length > 0) tx.emit({ kind: "garp", vips: p.vips, count: p.garp.repeatCount });
      return tx;
    case "garpRefresh":
      tx.cancel("garpRefresh");
      if (tx.s.state !== "MASTER" || p.vips.length === 0 || !(p.garp.refreshMs && p.garp.refreshMs > 0)) return tx;
      tx.emit({ kind: "garp", vips: p.vips, count: p.garp.refreshCount ?? 1 });
      return tx.arm("garpRefresh", now + p.garp.refreshMs);
  }
}

function diffVips(a: readonly VipSpec[], b: readonly VipSpec[], dev: string): VipSpec[] {
  const keys = new Set(b.map((v) => `${v.address}/${v.prefix}@${v.dev ?? dev}/${v.label ?? ""}`));
  return a.filter((v) => !keys.has(`${v.address}/${v.prefix}@${v.dev ?? dev}/${v.label ?? ""}`));
}

function onReconfigure(tx: Tx, now: number, params: VrrpParams): Tx {
  const old = tx.s.params;
  const added = diffVips(params.vips, old.vips, params.interface);
  const removed = diffVips(old.vips, params.vips, old.interface);
  tx.set({ params });
  if (params.version === 2 || tx.s.state === "MASTER") tx.set({ masterAdverIntervalMs: params.advertIntervalMs });
  const linksDown = tx.s.linksDown.filter((i) => isTracked(tx.s, i));
  tx.set({ linksDown });
  tx.log("info", "reconfigured", { vipsAdded: added.length, vipsRemoved: removed.length });
  if (tx.s.state === "MASTER") {
    if (removed.length > 0) tx.emit({ kind: "removeVips", vips: removed });
    if (added.length > 0) {
      tx.emit({ kind: "addVips", vips: added });
      if (params.garp.initialCount > 0) tx.emit({ kind: "garp", vips: added, count: params.garp.initialCount });
    }
    if (old.priority !== params.priority || old.advertIntervalMs !== params.advertIntervalMs) {
      tx.emit({ kind: "sendAdvert", priority: advertPrio(tx.s, now) });
      tx.arm("advert", now + params.advertIntervalMs);
    }
  }
  if (tx.s.state === "FAULT" && linksDown.length === 0 && !tx.s.syncFault) return leaveFault(tx, now, "reload: no tracked link down");
  return tx;
}

/** Advance one instance by one event. Pure: same inputs, same outputs. */
export function step(state: InstanceState, event: VrrpEvent, now: number): StepResult {
  const tx = new Tx(state);
  const s = state.state;
  if (s === "STOPPED") return tx.done();
  switch (event.type) {
    case "startup":
      if (s !== "INIT") return tx.done();
      return onStartup(tx, now, event).done();
    case "advert": {
      const a = event.advert;
      if (a.source === state.params.primaryIp) return tx.done(); // our own, looped back
      if (s === "BACKUP") return onAdvertBackup(tx, now, a).done();
      if (s === "MASTER") return onAdvertMaster(tx, now, a).done();
      return tx.done(); // INIT and FAULT ignore adverts
    }
    case "timer":
      return onTimer(tx, now, event.timer, event.hold === true).done();
    case "linkDown": {
      if (!isTracked(state, event.ifname) || state.linksDown.includes(event.ifname)) return tx.done();
      tx.set({ linksDown: [...state.linksDown, event.ifname] });
      if (s === "INIT" || s === "FAULT") return tx.done();
      return enterFault(tx, `link down: ${event.ifname}`).done();
    }
    case "linkUp": {
      if (!state.linksDown.includes(event.ifname)) return tx.done();
      const linksDown = state.linksDown.filter((i) => i !== event.ifname);
      tx.set({ linksDown });
      if (s === "FAULT" && linksDown.length === 0 && !state.syncFault) return leaveFault(tx, now, `link up: ${event.ifname}`).done();
      return tx.done();
    }
    case "shutdown": {
      if (s === "MASTER") leaveMasterEffects(tx, PRIORITY_STOP);
      tx.cancelAll();
      tx.set({ master: null });
      tx.moveTo("STOPPED", "shutdown");
      return tx.emit({ kind: "notify", state: "STOP", priority: prio(tx.s) }).done();
    }
    case "reconfigure":
      return onReconfigure(tx, now, event.params).done();
    case "sync":
      if (s === "INIT") return tx.done();
      switch (event.to) {
        case "MASTER":
          return (s === "BACKUP" ? enterMaster(tx, now, "sync group went MASTER") : tx).done();
        case "BACKUP":
          return (s === "MASTER" ? enterBackup(tx, now, "sync group went BACKUP", downInterval(tx.s)) : tx).done();
        case "FAULT":
          tx.set({ syncFault: true });
          return (s === "FAULT" ? tx : enterFault(tx, "sync group member in FAULT")).done();
        case "FAULT_CLEAR":
          tx.set({ syncFault: false });
          if (s === "FAULT" && state.linksDown.length === 0) return leaveFault(tx, now, "sync group fault cleared").done();
          return tx.done();
      }
  }
}
