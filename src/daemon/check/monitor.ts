// The health checks as the daemon core sees them (core/health.ts HealthSource): the core hands
// over the config's services, reads each real server's health when it builds the wanted IPVS
// table (quorum, hysteresis, inhibit_on_failure and the sorry server are its policy), and is told
// when any health changes. On the way this runs keepalived's per-real-server notify_up /
// notify_down, and quorum_up / quorum_down when the service's quorum changes: the quorum is the
// core's own policy (ipvs/policy.ts wantedTable), evaluated here for the one service that changed,
// on every change (the core may fold several changes into one pass). Runs in the main thread; the VRRP worker never sees a
// check.
import type { LvsdService } from "../config.js";
import type { Logger } from "../log.js";
import type { Clock, NotifyRunner } from "../runtime/ports.js";
import { wantedTable } from "../ipvs/policy.js";
import { checkSpecs, nameBasedId, type RealServerIdOf } from "./plan.js";
import { CheckScheduler, type CheckStatus, type HealthChange } from "./scheduler.js";
import type { CheckerSet, CheckReason } from "./types.js";

export interface MonitorDeps {
  clock: Clock;
  checkers: CheckerSet;
  notify: NotifyRunner;
  log: Logger;
  /** The core's real server identity (core/health.ts realServerId). */
  idOf?: RealServerIdOf;
  /** Wall clock for `since` in the status (default: Date). */
  wallNow?: () => number;
  initialSpreadMs?: number;
}

/** Per real server, what /status shows (core/health.ts RealServerHealthStatus, plus detail). */
export interface CheckHealthStatus {
  up: boolean;
  weight?: number;
  lastResult?: "success" | "failure";
  reason?: string;
  since?: string;
  check: Omit<CheckStatus, "id">;
}

export class CheckHealth {
  readonly #d: MonitorDeps;
  readonly #idOf: RealServerIdOf;
  readonly scheduler: CheckScheduler;
  /** id -> the real server's notify scripts and names, from the last update(). */
  #rs = new Map<string, { service: string; realServer: string; notifyUp?: string[]; notifyDown?: string[] }>();
  #listeners: Array<() => void> = [];
  #since = new Map<string, number>();
  /** Services by real server id, and each service's quorum (by the core's service id). */
  #serviceOf = new Map<string, LvsdService>();
  #quorum = new Map<string, boolean>();

  constructor(d: MonitorDeps) {
    this.#d = d;
    this.#idOf = d.idOf ?? nameBasedId;
    this.scheduler = new CheckScheduler({ clock: d.clock, checkers: d.checkers, ...(d.initialSpreadMs !== undefined ? { initialSpreadMs: d.initialSpreadMs } : {}) });
    this.scheduler.onChange((c) => this.#onChange(c));
  }

  /** Start, or reload as a diff: checks whose spec is unchanged keep their state and timers. */
  update(services: readonly LvsdService[]): void {
    this.#rs.clear();
    this.#serviceOf.clear();
    for (const s of services) {
      for (const rs of s.realServers) {
        this.#serviceOf.set(this.#idOf(s, rs), s);
        this.#rs.set(this.#idOf(s, rs), {
          service: s.name,
          realServer: rs.address.includes(":") ? `[${rs.address}]:${rs.port}` : `${rs.address}:${rs.port}`,
          ...(rs.notifyUp ? { notifyUp: rs.notifyUp } : {}),
          ...(rs.notifyDown ? { notifyDown: rs.notifyDown } : {}),
        });
      }
    }
    const diff = this.scheduler.set(checkSpecs(services, this.#idOf));
    for (const id of diff.removed) this.#since.delete(id);
    if (diff.added.length + diff.changed.length + diff.removed.length > 0) {
      this.#d.log.info("health checks configured", { checks: this.#rs.size, added: diff.added.length, changed: diff.changed.length, removed: diff.removed.length });
    }
  }

  /** Unknown ids (no check) are up with their configured weight. */
  health(id: string): { up: boolean; weight?: number } {
    const h = this.scheduler.health(id);
    if (!h) return { up: true };
    return h.up ? { up: true, weight: h.weight } : { up: false };
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  snapshot(): Record<string, CheckHealthStatus> {
    const out: Record<string, CheckHealthStatus> = {};
    for (const c of this.scheduler.snapshot()) {
      const { id, ...check } = c;
      const since = this.#since.get(id);
      out[id] = {
        up: c.up,
        ...(c.up ? { weight: c.weight } : {}),
        ...(c.last ? { lastResult: c.last.ok ? ("success" as const) : ("failure" as const) } : {}),
        ...(c.last ? { reason: c.last.ok ? (c.last.detail ?? "ok") : `${c.last.reason}: ${c.last.detail}` } : {}),
        ...(since !== undefined ? { since: new Date(since).toISOString() } : {}),
        check,
      };
    }
    return out;
  }

  async stop(): Promise<void> {
    this.scheduler.stop();
  }

  #quorumScripts(s: LvsdService): void {
    const r = wantedTable([s], (id) => this.health(id), this.#quorum);
    for (const [sid, up] of r.quorum) {
      const was = this.#quorum.get(sid) ?? true;
      this.#quorum.set(sid, up);
      if (up === was) continue;
      const v = r.services[0];
      this.#d.log.log(up ? "info" : "warn", up ? "service gained quorum" : "service lost quorum", { service: s.name, liveWeight: v?.liveWeight, quorum: s.quorum, hysteresis: s.hysteresis, sorryServer: v?.sorryServerActive ?? false });
      const script = up ? s.quorumUp : s.quorumDown;
      if (script) void this.#d.notify.run(script, { service: s.name, state: up ? "QUORUM_UP" : "QUORUM_DOWN" });
    }
  }

  #onChange(c: HealthChange): void {
    this.#since.set(c.id, this.#d.wallNow?.() ?? Date.now());
    const rs = this.#rs.get(c.id);
    const reason: string = c.result.ok ? (c.result.detail ?? "ok") : `${c.result.reason satisfies CheckReason}: ${c.result.detail}`;
    const fields = { service: rs?.service ?? c.service, realServer: rs?.realServer ?? `${c.address}:${c.port}`, reason, ...(c.up ? { weight: c.weight } : {}) };
    this.#d.log.log(c.up ? "info" : "warn", c.up ? "real server up" : "real server down", fields);
    const script = c.up ? rs?.notifyUp : rs?.notifyDown;
    if (script) void this.#d.notify.run(script, { service: fields.service, realServer: fields.realServer, state: c.up ? "UP" : "DOWN" });
    const s = this.#serviceOf.get(c.id);
    if (s) this.#quorumScripts(s);
    for (const l of this.#listeners) l();
  }
}
