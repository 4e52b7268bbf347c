// The director rolls (`roll: keepalived`, `roll: lvsd`): directors one at a time, never without a
// master. One strategy for both backends, by the daemon's unit: both speak VRRP and program IPVS,
// and what the gate reads (the VIPs a director holds, `ipvsadm -Sn`) is the kernel's, not theirs.
//
// Order: the directors that hold an instance's VIPs NOW go last (asked from the hosts, not taken
// from the inventory, which may have been overruled by a failover); the others (backups) go
// first, in inventory order. When no director holds a VIP (a fresh cluster), the inventory's
// highest priority goes first, so the VIPs land where the inventory puts them without a
// preemption flip later.
//
// Gate after each director, polled until it holds or the time is up: the roll's daemon active on
// it (and not the other), its VRRP role as the priorities give it, exactly one master per
// instance across the cluster (vrrp-state.ts), and its IPVS table (`ipvsadm -Sn`) equal to the
// inventory's (ipvs-table.ts) when the inventory has virtual services (a VRRP-only cluster has
// none). A cluster half way through a switch of backend runs keepalived on some directors and lvsd
// on others: both count as running VRRP when roles are judged. lvsd is also asked itself (its GET
// /status, lvsd-status.ts) once the kernel looks right: the VIPs and table a killed lvsd left
// behind look the same as a running one's. The gated director's own daemon is also watched in
// systemd (unit-state.ts): when it has failed or keeps being restarted (a crash loop), the gate
// stops at once and quotes the daemon's last error from its journal, rather than waiting out its
// timeout on the VIPs and table a dead daemon left behind.
import type { Cluster } from "../inventory/model.js";
import type { Command } from "../command/index.js";
import { directorProbe, splitDirectorProbe } from "./director-probe.js";
import { compareIpvs, expectedIpvs, parseIpvsadmSave } from "./ipvs-table.js";
import { judgeLvsdStatus } from "./lvsd-status.js";
import { journalCommand, lastJournalError, parseUnitShow, unitTrouble, unitTroubleReason, type UnitState } from "./unit-state.js";
import type { StatusSnapshot } from "../daemon/status/types.js";
import type { Roll, RollProbe } from "./types.js";
import { instanceRole, judgeVrrp, mastersNow, parseIpAddrJson, type DirectorView } from "./vrrp-state.js";

/** The VRRP daemons a director can run, in the order the probe asks systemd about them. */
export const VRRP_DAEMONS = ["keepalived", "lvsd"] as const;
export type VrrpDaemon = (typeof VRRP_DAEMONS)[number];
/**
 * One round trip per director (director-probe.ts): both daemons' unit states, in VRRP_DAEMONS
 * order, addresses, IPVS table, and the roll's daemon's systemd state (ActiveState, NRestarts).
 */
const PROBES: Record<VrrpDaemon, Command> = {
  keepalived: directorProbe(VRRP_DAEMONS.map((d) => `${d}.service`), { show: "keepalived.service" }),
  lvsd: directorProbe(VRRP_DAEMONS.map((d) => `${d}.service`), { show: "lvsd.service" }),
};

export interface DirectorProbe extends DirectorView {
  /** `ipvsadm -Sn` output, or its error. */
  ipvs: string;
  /** The roll's daemon's unit in systemd, when the probe said. */
  unit?: UnitState;
}

/** Pure: the probe's output -> what the gate reads; `active` is `daemon`'s unit. */
export function parseProbe(cluster: Cluster, director: string, stdout: string, daemon: VrrpDaemon = "keepalived"): DirectorProbe {
  const { states, addrs, ipvsSave: ipvs, unitShow } = splitDirectorProbe(stdout);
  const daemons = VRRP_DAEMONS.filter((_, i) => states[i] === "active");
  const d = cluster.directors.find((x) => x.host.name === director);
  const unit = parseUnitShow(unitShow);
  const view: DirectorProbe = { director, active: daemons.includes(daemon), daemons, roles: {}, ipvs, ...(unit ? { unit } : {}) };
  try {
    const held = parseIpAddrJson(addrs);
    for (const inst of d?.instances ?? []) view.roles[inst.name] = instanceRole(inst, held);
  } catch (e) {
    view.error = `cannot read its addresses (${e instanceof Error ? e.message : String(e)})`;
  }
  return view;
}

async function probeAll(cluster: Cluster, probe: RollProbe, daemon: VrrpDaemon): Promise<DirectorProbe[]> {
  return Promise.all(
    cluster.directors.map(async (d): Promise<DirectorProbe> => {
      const name = d.host.name;
      try {
        const r = await probe.exec(name, PROBES[daemon]);
        return parseProbe(cluster, name, r.stdout.toString("utf8"), daemon);
      } catch (e) {
        return { director: name, active: false, roles: {}, ipvs: "", error: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
}

/** Pure: the gate's verdict on one director from every director's probe. */
export function judgeDirector(cluster: Cluster, director: string, views: DirectorProbe[], daemon: VrrpDaemon = "keepalived"): string[] {
  const out = judgeVrrp(cluster, director, views, daemon);
  const mine = views.find((v) => v.director === director);
  // A VRRP-only cluster (no virtual service) has no table to hold, and its directors may run on a
  // kernel without IPVS, where `ipvsadm -Sn` can only fail: the gate reads the table only when
  // there are services.
  if (mine && !mine.error && mine.active && cluster.services.length > 0) {
    const { table, unknown } = parseIpvsadmSave(mine.ipvs);
    const diff = compareIpvs(expectedIpvs(cluster), table);
    if (unknown.length && table.length === 0) out.push(`ipvsadm -Sn on ${director}: ${unknown.join(" ").slice(0, 200)}`);
    else out.push(...diff.map((d) => `IPVS on ${director}: ${d}`));
  }
  return out;
}

/**
 * lvsd's own view on `host` (GET /status on its loopback through the SSH connection): [] when it
 * agrees with the kernel and the inventory, else why not (not answering yet, another VRRP state, a
 * table not programmed). Without a way to GET (a probe that only runs commands), not asked.
 */
async function askLvsd(cluster: Cluster, host: string, views: DirectorProbe[], probe: RollProbe): Promise<string[]> {
  const view = views.find((v) => v.director === host);
  if (!probe.httpGet || !view) return [];
  let snap: StatusSnapshot;
  try {
    const r = await probe.httpGet(host, cluster.lvsd.statusPort, "/status");
    if (r.status !== 200) return [`lvsd's status on ${host} (127.0.0.1:${cluster.lvsd.statusPort}): GET /status answered ${r.status}`];
    snap = JSON.parse(r.body.toString("utf8")) as StatusSnapshot;
  } catch (e) {
    return [`cannot read lvsd's status on ${host} (127.0.0.1:${cluster.lvsd.statusPort}): ${e instanceof Error ? e.message : String(e)}`];
  }
  return judgeLvsdStatus(cluster, host, view.roles, snap);
}

/** The daemon's last error from its journal on `host` (one command, once the gate has decided to stop); undefined when it says none or cannot be read. */
async function journalError(probe: RollProbe, host: string, daemon: VrrpDaemon): Promise<string | undefined> {
  try {
    return lastJournalError((await probe.exec(host, journalCommand(`${daemon}.service`))).stdout.toString("utf8"));
  } catch {
    return undefined;
  }
}

/** Who holds what, for messages: "VI_1 MASTER on ds1". */
function summary(views: DirectorProbe[]): string {
  const m = mastersNow(views);
  return Object.keys(m).length ? Object.entries(m).map(([i, ds]) => `${i} MASTER on ${ds.join(", ")}`).join("; ") : "no director holds a VIP";
}

/** The roll for directors running `daemon` (its unit is `daemon`.service). */
export function directorRoll(cluster: Cluster, daemon: VrrpDaemon): Roll {
  return {
    async order(hosts, probe) {
      const views = await probeAll(cluster, probe, daemon);
      const masters = new Set(Object.values(mastersNow(views)).flat());
      if (masters.size === 0) {
        const prio = (h: string) => Math.max(-1, ...(cluster.directors.find((d) => d.host.name === h)?.instances.map((i) => i.priority) ?? []));
        const sorted = [...hosts].sort((a, b) => prio(b) - prio(a));
        return { hosts: sorted, reason: `no director holds a VIP now: highest priority first (${sorted.join(", ")})` };
      }
      const ordered = [...hosts.filter((h) => !masters.has(h)), ...hosts.filter((h) => masters.has(h))];
      return { hosts: ordered, reason: `${summary(views)} now: backups first, then the master (${ordered.join(", ")})` };
    },
    async gate(host, probe, opts) {
      const start = opts.now();
      let firstUnit: UnitState | undefined;
      for (;;) {
        const views = await probeAll(cluster, probe, daemon);
        const unit = views.find((v) => v.director === host)?.unit;
        firstUnit ??= unit;
        const trouble = unitTrouble(firstUnit, unit);
        if (trouble) {
          const why = unitTroubleReason(host, daemon, trouble, await journalError(probe, host, daemon));
          return { ok: false, reason: `${why} (after ${Math.round((opts.now() - start) / 1000)} s; ${summary(views)})` };
        }
        const problems = judgeDirector(cluster, host, views, daemon);
        const asked = daemon === "lvsd" && problems.length === 0 && probe.httpGet !== undefined;
        if (asked) problems.push(...(await askLvsd(cluster, host, views, probe)));
        if (problems.length === 0) {
          const lvsd = asked ? "; lvsd's status agrees (its VRRP state, its IPVS table programmed)" : "";
          return { ok: true, reason: `${summary(views)}; ${daemon} active on ${host}, its IPVS table as the inventory says${lvsd} (${Math.round(opts.now() - start)} ms)` };
        }
        if (opts.aborted() || opts.now() - start >= opts.timeoutMs) {
          return { ok: false, reason: `${problems.join("; ")} (after ${Math.round((opts.now() - start) / 1000)} s; ${summary(views)})` };
        }
        await opts.sleep(1000);
      }
    },
  };
}
