// The daemon core's IPVS half, on the main thread: it feeds the config's services to the health
// checks (a HealthSource), turns config + health into the wanted IPVS table (ipvs/policy.ts, pure)
// and hands it to the reconciler, which writes only differences; and it switches the kernel's
// connection sync daemon between master and backup with the VRRP state. The VRRP engine keeps its
// own worker thread (runtime/worker.ts), so nothing here can delay an advert; main.ts composes
// the two and supervises both.
//
// Passes: at start (adoption: a matching table is left untouched), on every health change and
// SIGHUP (only the difference is written), and periodically, which puts back hand edits.
// On stop the table and the sync daemon are left as they are: a restart (crash or upgrade) adopts
// them without a write, so established connections are never touched.
import type { LvsdConfig } from "../config.js";
import type { Logger } from "../log.js";
import type { IpvsClient } from "../ipvs/client.js";
import { wantedTable, type ServicePolicyView } from "../ipvs/policy.js";
import { IpvsReconciler, type PassReason, type PassReport } from "../ipvs/reconciler.js";
import type { TableEntry } from "../ipvs/table.js";
import { ipvsServiceStatus } from "../status/ipvs.js";
import type { IpvsStatus } from "../status/types.js";
import type { HealthSource } from "./health.js";
import { needsIpvs } from "./startup.js";

export interface DirectorPorts {
  openIpvs: () => Promise<IpvsClient>;
  health: HealthSource;
  /** The VRRP instances' states (from the worker's snapshot). */
  vrrpStates: () => Promise<ReadonlyArray<{ name: string; state: string }>>;
  log: Logger;
  /** Periodic pass, ms (default 5000). */
  intervalMs?: number;
  /** How often the VRRP state is read for the sync daemon, ms (default 500). */
  syncPollMs?: number;
}

export class Director {
  #p: DirectorPorts;
  #config: LvsdConfig | undefined;
  #client: IpvsClient | undefined;
  #reconciler: IpvsReconciler | undefined;
  #openError: string | null = null;
  #quorum = new Map<string, boolean>();
  #views: ServicePolicyView[] = [];
  #wanted: TableEntry[] = [];
  #timers: ReturnType<typeof setInterval>[] = [];
  #stopped = false;
  #pending: Promise<unknown> = Promise.resolve();
  #syncRole: "master" | "backup" | undefined;

  constructor(ports: DirectorPorts) {
    this.#p = ports;
    ports.health.onChange(() => void this.#schedule("health"));
  }

  /** Whether this config needs the kernel's IPVS at all (a VRRP-only director does not). */
  static needsIpvs(c: LvsdConfig): boolean {
    return needsIpvs(c);
  }

  async start(config: LvsdConfig): Promise<PassReport | undefined> {
    this.#config = config;
    this.#p.health.update(config.services);
    if (!Director.needsIpvs(config)) return undefined;
    this.#timers.push(setInterval(() => void this.#schedule("periodic"), this.#p.intervalMs ?? 5000));
    this.#timers.push(setInterval(() => void this.#pollSync(), this.#p.syncPollMs ?? 500));
    for (const t of this.#timers) t.unref?.();
    return this.#schedule("start");
  }

  async reload(config: LvsdConfig): Promise<PassReport | undefined> {
    const first = this.#config === undefined || (!Director.needsIpvs(this.#config) && this.#timers.length === 0);
    if (first) return this.start(config);
    this.#config = config;
    this.#p.health.update(config.services);
    return this.#schedule("reload");
  }

  /** One pass now (tests; also what the timers do). */
  pass(reason: PassReason): Promise<PassReport | undefined> {
    return this.#schedule(reason);
  }

  #schedule(reason: PassReason): Promise<PassReport | undefined> {
    const run = this.#pending.then(() => this.#pass(reason));
    this.#pending = run.catch(() => undefined);
    return run;
  }

  async #ensureClient(): Promise<IpvsReconciler | undefined> {
    if (this.#reconciler) return this.#reconciler;
    try {
      this.#client = await this.#p.openIpvs();
      this.#reconciler = new IpvsReconciler(this.#client, this.#p.log);
      if (this.#openError) this.#p.log.info("IPVS available again");
      this.#openError = null;
      return this.#reconciler;
    } catch (e) {
      const msg = (e as Error).message;
      if (msg !== this.#openError) this.#p.log.error("IPVS: cannot open the kernel's IPVS; retrying on the next pass (VRRP keeps running)", { error: msg, hint: "lvsd needs CAP_NET_ADMIN and a kernel with IPVS (modprobe ip_vs)" });
      this.#openError = msg;
      return undefined;
    }
  }

  #computeWanted(): TableEntry[] {
    const c = this.#config!;
    const r = wantedTable(c.services, (id) => this.#p.health.health(id), this.#quorum);
    for (const v of r.services) {
      const was = this.#quorum.get(v.id);
      if (was !== undefined && was !== v.quorum) this.#p.log.warn(v.quorum ? "service gained quorum" : "service lost quorum", { service: v.name, id: v.id, liveWeight: v.liveWeight, sorryServer: v.sorryServerActive });
    }
    this.#quorum = r.quorum;
    this.#views = r.services;
    this.#wanted = r.table;
    return r.table;
  }

  async #pass(reason: PassReason): Promise<PassReport | undefined> {
    if (this.#stopped || !this.#config || !Director.needsIpvs(this.#config)) return undefined;
    const rec = await this.#ensureClient();
    if (!rec) return undefined;
    rec.setWanted(this.#computeWanted());
    rec.setSyncDaemon(this.#syncSpec());
    return rec.pass(reason);
  }

  #syncSpec() {
    const s = this.#config?.lvsSyncDaemon;
    if (!s) return undefined;
    return { role: this.#syncRole ?? "backup", ifname: s.interface, syncId: s.syncId } as const;
  }

  async #pollSync(): Promise<void> {
    const s = this.#config?.lvsSyncDaemon;
    if (!s || this.#stopped) return;
    let states: ReadonlyArray<{ name: string; state: string }>;
    try {
      states = await this.#p.vrrpStates();
    } catch {
      return;
    }
    const role = states.find((i) => i.name === s.instance)?.state === "MASTER" ? "master" : "backup";
    if (role === this.#syncRole) return;
    this.#syncRole = role;
    this.#p.log.info("IPVS connection sync follows VRRP", { instance: s.instance, role });
    await this.#schedule("reload");
  }

  status(): IpvsStatus | undefined {
    const c = this.#config;
    if (!c || !Director.needsIpvs(c)) return undefined;
    const r = this.#reconciler;
    const sync = this.#syncSpec();
    return {
      available: r !== undefined,
      error: this.#openError,
      lastPass: r?.lastPass ? { at: r.lastPass.at, reason: r.lastPass.reason, ok: r.lastPass.ok, ops: r.lastPass.ops, failed: r.lastPass.failed, repaired: r.lastPass.repaired, dumpMs: r.lastPass.dumpMs, writeMs: r.lastPass.writeMs, totalMs: r.lastPass.totalMs } : null,
      passes: r?.counters.passes ?? 0,
      writes: r?.counters.writes ?? 0,
      writeErrors: r?.counters.writeErrors ?? 0,
      repairs: r?.counters.repairs ?? 0,
      dumpErrors: r?.counters.dumpErrors ?? 0,
      syncDaemon: c.lvsSyncDaemon ? { wanted: sync ? { role: sync.role, interface: sync.ifname, syncId: sync.syncId } : null, writes: r?.counters.syncDaemonWrites ?? 0 } : null,
      services: ipvsServiceStatus(c.services, this.#views, this.#wanted, r?.lastDump ?? [], this.#p.health.snapshot()),
    };
  }

  /** Stops the timers and the checks and closes the socket; the kernel's table is left as it is. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#pending.catch(() => undefined);
    await this.#p.health.stop();
    this.#client?.close();
  }
}
