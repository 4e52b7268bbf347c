// The impure shell around reconcile(): one pass = one dump, the pure diff, then only the
// differences written, one request each, batched (IpvsClient.applyAll). Passes never overlap. Counts writes (what a SIGHUP or a
// health change cost), write errors (logged with the operation that caused them) and repairs
// (differences found while the wanted table had not changed since a pass that converged: someone
// changed the kernel's table by hand).
import type { Logger } from "../log.js";
import { IP_VS_SVC_F_HASHED, type IpvsDest, type IpvsService, type SyncDaemonRole, type SyncDaemonSpec } from "../netlink/ipvs.js";
import type { DumpEntry, IpvsClient, KernelResult } from "./client.js";
import { describeOp, reconcile, type IpvsOp } from "./reconcile.js";
import { actualDestRule, actualServiceRule, destKeyText, serviceKeyText, type TableEntry } from "./table.js";

export type PassReason = "start" | "periodic" | "reload" | "health";

export interface PassReport {
  reason: PassReason;
  ok: boolean;
  ops: number;
  failed: number;
  repaired: number;
  foreign: number;
  dumpMs: number;
  /** The writes alone (0 when there were none). */
  writeMs: number;
  totalMs: number;
}

export interface ReconcilerCounters {
  passes: number;
  /** Requests that change the table (successful or not). */
  writes: number;
  writeErrors: number;
  repairs: number;
  dumpErrors: number;
  syncDaemonWrites: number;
}

export function tableOfDump(dump: readonly DumpEntry[]): TableEntry[] {
  return dump.map((e) => ({ service: actualServiceRule(e.service), dests: e.dests.map(actualDestRule) }));
}

/** A dump with the writes that succeeded applied, as the kernel applied them: new services and
 * destinations without counters, edited ones keeping theirs (a service's destinations in the
 * dump's order, new ones after them). Pure. */
export function dumpAfter(dump: readonly DumpEntry[], ops: readonly IpvsOp[], results: readonly KernelResult<void>[]): DumpEntry[] {
  type Entry = { service: IpvsService; dests: DumpEntry["dests"]; byKey?: Map<string, IpvsDest> };
  const t = new Map<string, Entry>(dump.map((e) => [serviceKeyText(e.service.key), { service: e.service, dests: e.dests }]));
  // a service's destinations by key, made when a write first touches them
  const destsOf = (e: Entry): Map<string, IpvsDest> => (e.byKey ??= new Map(e.dests.map((d) => [destKeyText(d), d])));
  ops.forEach((op, k) => {
    if (!results[k]?.ok) return;
    const key = op.kind === "add-service" || op.kind === "edit-service" ? op.service.key : op.key;
    const id = serviceKeyText(key);
    const e = t.get(id);
    switch (op.kind) {
      case "add-service":
      case "edit-service": {
        const r = op.service;
        const service: IpvsService = { ...(e?.service ?? {}), key: r.key, scheduler: r.scheduler, flags: r.flags, kernelFlags: r.flags | IP_VS_SVC_F_HASHED, timeout: r.timeout, netmask: r.netmask };
        if (e) e.service = service;
        else t.set(id, { service, dests: [], byKey: new Map() });
        return;
      }
      case "del-service":
        t.delete(id);
        return;
      default: {
        if (!e) return;
        const ds = destsOf(e);
        const dk = destKeyText(op.dest);
        if (op.kind === "del-dest") {
          ds.delete(dk);
          return;
        }
        const r = op.dest;
        ds.set(dk, { activeConns: 0, inactConns: 0, persistConns: 0, ...(ds.get(dk) ?? {}), address: r.address, port: r.port, fwd: r.fwd, weight: r.weight, uThresh: r.uThresh, lThresh: r.lThresh, tunType: r.tunType, tunPort: r.tunPort, tunFlags: r.tunFlags });
      }
    }
  });
  return [...t.values()].map((e) => ({ service: e.service, dests: e.byKey ? [...e.byKey.values()] : e.dests }));
}

/** What to do to the kernel's sync daemons so exactly `wanted` runs. Pure. */
export function syncDaemonOps(wanted: SyncDaemonSpec | undefined, running: readonly SyncDaemonSpec[]): Array<{ stop: SyncDaemonRole } | { start: SyncDaemonSpec }> {
  const same = (a: SyncDaemonSpec) => wanted !== undefined && a.role === wanted.role && a.ifname === wanted.ifname && a.syncId === wanted.syncId;
  const ops: Array<{ stop: SyncDaemonRole } | { start: SyncDaemonSpec }> = running.filter((d) => !same(d)).map((d) => ({ stop: d.role }));
  if (wanted && !running.some(same)) ops.push({ start: wanted });
  return ops;
}

const now = (): number => Number(process.hrtime.bigint() / 1000n) / 1000;

export class IpvsReconciler {
  readonly counters: ReconcilerCounters = { passes: 0, writes: 0, writeErrors: 0, repairs: 0, dumpErrors: 0, syncDaemonWrites: 0 };
  lastPass: (PassReport & { at: string }) | null = null;
  /** The last dump (counters included), for status. */
  lastDump: DumpEntry[] = [];
  #client: IpvsClient;
  #log: Logger;
  #wanted: TableEntry[] = [];
  #wantedJson = "[]";
  #version = 0;
  #convergedVersion = -1;
  #owned = new Set<string>();
  #queue: Promise<unknown> = Promise.resolve();
  #syncWanted: SyncDaemonSpec | undefined;
  #syncManaged = false;

  constructor(client: IpvsClient, log: Logger) {
    this.#client = client;
    this.#log = log;
  }

  /** The table lvsd wants from now on; its services become lvsd's (deleted when no longer wanted). */
  setWanted(table: TableEntry[]): void {
    const json = JSON.stringify(table);
    if (json === this.#wantedJson) return;
    this.#wanted = table;
    this.#wantedJson = json;
    this.#version++;
    for (const e of table) this.#owned.add(serviceKeyText(e.service.key));
  }

  /** The sync daemon lvsd wants (undefined: none; one lvsd started is then stopped). */
  setSyncDaemon(d: SyncDaemonSpec | undefined): void {
    this.#syncWanted = d;
    if (d) this.#syncManaged = true;
  }

  /** One pass (queued behind a running one). */
  pass(reason: PassReason): Promise<PassReport> {
    const run = this.#queue.then(() => this.#pass(reason));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #pass(reason: PassReason): Promise<PassReport> {
    const t0 = now();
    const version = this.#version;
    this.counters.passes++;
    // destinations only of the services lvsd wants: those of others (foreign, or owned and about
    // to be deleted) decide nothing
    const wantedKeys = new Set(this.#wanted.map((e) => serviceKeyText(e.service.key)));
    const dump = await this.#client.dump((k) => wantedKeys.has(serviceKeyText(k)));
    const dumpMs = now() - t0;
    if (!dump.ok) {
      this.counters.dumpErrors++;
      this.#log.error("IPVS: cannot read the kernel's table; retrying on the next pass", { op: "dump", code: dump.code, ...(dump.message ? { message: dump.message } : {}) });
      return this.#done({ reason, ok: false, ops: 0, failed: 0, repaired: 0, foreign: 0, dumpMs, writeMs: 0, totalMs: now() - t0 });
    }
    this.lastDump = dump.value;
    const { ops, foreign } = reconcile(this.#wanted, tableOfDump(dump.value), this.#owned);
    const drift = ops.length > 0 && this.#convergedVersion === version;
    if (drift) this.#log.warn("IPVS table changed outside lvsd: putting it back", { ops: ops.map(describeOp) });
    let failed = 0;
    const tw = now();
    // in the plan's order (a service before its destinations, a service's destinations deleted
    // before it): the kernel runs a batch in order and carries on after an error, so every write
    // is tried and each failure is logged with its own operation. A write that depends on one that
    // failed (the destinations of a service the kernel refused) fails too, with its own line.
    const results = ops.length > 0 ? await this.#client.applyAll(ops) : [];
    const writeMs = now() - tw;
    this.counters.writes += ops.length;
    ops.forEach((op, k) => {
      if (!this.#wrote(op, results[k] ?? { ok: false, code: "EIO", errno: 5, message: "no result" }, reason, drift, ops.length)) failed++;
    });
    if (!drift && ops.length > 50) this.#log.info("IPVS table programmed", { reason, ops: ops.length, failed, writeMs: Math.round(writeMs) });
    if (drift) this.counters.repairs += ops.length - failed;
    if (failed === 0) this.#convergedVersion = version;
    // the table as the writes left it, for status, without reading it again (a second dump of a
    // large table costs as much as the first): the counters are the last dump's until the next
    // pass reads them (periodic ones run every few seconds)
    if (ops.length > 0) this.lastDump = dumpAfter(this.lastDump, ops, results);
    await this.#syncDaemon();
    return this.#done({ reason, ok: failed === 0, ops: ops.length, failed, repaired: drift ? ops.length - failed : 0, foreign: foreign.length, dumpMs, writeMs, totalMs: now() - t0 });
  }

  /** Counts and logs one write's result; false when it failed. */
  #wrote(op: IpvsOp, r: KernelResult<void>, reason: PassReason, drift: boolean, total: number): boolean {
    if (!r.ok) {
      this.counters.writeErrors++;
      this.#log.error("IPVS write failed", { op: describeOp(op), code: r.code, ...(r.message ? { message: r.message } : {}) });
      return false;
    }
    if (!drift && total <= 50) this.#log.info("IPVS", { op: describeOp(op), reason });
    return true;
  }

  async #syncDaemon(): Promise<void> {
    if (!this.#syncManaged) return;
    const running = await this.#client.daemons();
    if (!running.ok) {
      this.#log.error("IPVS: cannot read the sync daemons", { op: "get-daemon", code: running.code });
      return;
    }
    for (const op of syncDaemonOps(this.#syncWanted, running.value)) {
      this.counters.syncDaemonWrites++;
      const r = "stop" in op ? await this.#client.stopDaemon(op.stop) : await this.#client.startDaemon(op.start);
      const what = "stop" in op ? `stop-daemon ${op.stop}` : `start-daemon ${op.start.role} ${op.start.ifname} syncid ${op.start.syncId}`;
      if (r.ok) this.#log.info("IPVS connection sync", { op: what });
      else this.#log.error("IPVS sync daemon write failed", { op: what, code: r.code, ...(r.message ? { message: r.message } : {}) });
    }
    if (!this.#syncWanted) this.#syncManaged = false;
  }

  #done(r: PassReport): PassReport {
    const rounded = { ...r, dumpMs: Math.round(r.dumpMs * 10) / 10, writeMs: Math.round(r.writeMs * 10) / 10, totalMs: Math.round(r.totalMs * 10) / 10 };
    this.lastPass = { ...rounded, at: new Date().toISOString() };
    return rounded;
  }
}
