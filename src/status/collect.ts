// `collect`: ask every director and every SSH-managed DR/TUN real server, in parallel, one round
// trip each (lvsd's directors also answer a GET /status through their SSH connection), then build
// the ClusterStatus from the answers. The building is pure (`buildStatus`, tested on fixtures);
// the only I/O is the probe's.
import type { Cluster, ResolvedRealServer, ResolvedService } from "../inventory/model.js";
import type { StatusSnapshot, ServiceStatus as LvsdService } from "../daemon/status/types.js";
import { realServerVips, usesIpvs } from "../render/index.js";
import {
  canonicalAddress,
  diffIpvs,
  directorProbe,
  endpoint,
  expectedIpvs,
  instanceRole,
  lvsdServiceKey,
  parseIpAddrJson,
  parseIpvsadmSave,
  serviceKey,
  splitDirectorProbe,
  type IpvsDiff,
} from "../roll/index.js";
import { isUnreachable } from "../ssh/errors.js";
import { arpMissing, parseIpvsadmList, parseRealServerProbe, REALSERVER_PROBE } from "./facts.js";
import { judge } from "./judge.js";
import type { ClusterStatus, DirectorInstance, DirectorStatus, RealServerHostStatus, RealServerRow, ServiceRow, StatusProbe } from "./types.js";

/** What one director answered (or why it did not). */
export interface RawDirector {
  name: string;
  /** Could not be asked at all. */
  error?: string;
  /** The director probe's stdout (src/roll/director-probe.ts, with `ipvsadm -Ln`). */
  probe?: string;
  /** lvsd only: GET /status's JSON, or why it could not be had. */
  lvsd?: { snapshot: StatusSnapshot } | { error: string };
}

export interface RawRealServer {
  name: string;
  error?: string;
  /** REALSERVER_PROBE's stdout. */
  probe?: string;
}

export interface RawObservations {
  directors: RawDirector[];
  realServers: RawRealServer[];
}

export interface CollectOptions {
  /** When the hosts were asked (default: now). */
  now?: () => Date;
}

/** An error in one line, its hint (LvsctlError) kept: what to do matters most when a host cannot be asked. */
const message = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e);
  const hint = (e as { hint?: unknown }).hint;
  return typeof hint === "string" && hint ? `${e.message} (hint: ${hint})` : e.message;
};

/** The unit each backend's daemon runs as. */
export function daemonUnit(cluster: Cluster): string {
  return cluster.backend === "lvsd" ? "lvsd.service" : "keepalived.service";
}

/** The SSH-managed real servers that serve a DR/TUN VIP (the bootstrap's hosts that need lo VIPs and ARP sysctls), with those VIPs. */
export function realServerHosts(cluster: Cluster): { name: string; vips: string[] }[] {
  return cluster.realServers.map((h) => ({ name: h.name, vips: realServerVips(cluster, h).vips.map(canonicalAddress) })).filter((h) => h.vips.length > 0);
}

/** The I/O: every host once, in parallel. Never throws for a host: its failure is in its entry. */
export async function gather(cluster: Cluster, probe: StatusProbe): Promise<RawObservations> {
  const unit = daemonUnit(cluster);
  const directors = Promise.all(
    cluster.directors.map(async (d): Promise<RawDirector> => {
      const name = d.host.name;
      let out: string;
      try {
        out = (await probe.exec(name, directorProbe(unit, { list: true }))).stdout.toString("utf8");
      } catch (e) {
        return { name, error: message(e) };
      }
      const raw: RawDirector = { name, probe: out };
      if (cluster.backend === "lvsd") {
        try {
          const r = await probe.httpGet(name, cluster.lvsd.statusPort, "/status");
          if (r.status !== 200) raw.lvsd = { error: `GET /status answered ${r.status}: ${r.body.toString("utf8").trim().slice(0, 200)}` };
          else raw.lvsd = { snapshot: JSON.parse(r.body.toString("utf8")) as StatusSnapshot };
        } catch (e) {
          if (isUnreachable(e)) return { name, error: message(e) };
          raw.lvsd = { error: message(e) };
        }
      }
      return raw;
    }),
  );
  const realServers = Promise.all(
    realServerHosts(cluster).map(async ({ name }): Promise<RawRealServer> => {
      try {
        return { name, probe: (await probe.exec(name, REALSERVER_PROBE)).stdout.toString("utf8") };
      } catch (e) {
        return { name, error: message(e) };
      }
    }),
  );
  return { directors: await directors, realServers: await realServers };
}

/** Ask the hosts and build the status, problems judged. */
export async function collect(cluster: Cluster, probe: StatusProbe, opts: CollectOptions = {}): Promise<ClusterStatus> {
  const raw = await gather(cluster, probe);
  return buildStatus(cluster, raw, (opts.now ?? (() => new Date()))());
}

/** Pure: the answers -> the status, with its problems (judge.ts). */
export function buildStatus(cluster: Cluster, raw: RawObservations, at: Date): ClusterStatus {
  const directors = cluster.directors.map((d) => buildDirector(cluster, d.host.name, raw.directors.find((r) => r.name === d.host.name) ?? { name: d.host.name, error: "not asked" }));
  const instanceNames = [...new Set(cluster.directors.flatMap((d) => d.instances.map((i) => i.name)))];
  const instances = instanceNames.map((name) => {
    const inst = cluster.directors.flatMap((d) => d.instances).find((i) => i.name === name)!;
    return {
      name,
      vrid: inst.vrid,
      vips: inst.vips.map((v) => canonicalAddress(v.address)),
      masters: directors.filter((d) => d.instances.some((i) => i.name === name && i.role === "MASTER")).map((d) => d.name),
    };
  });
  const realServers = realServerHosts(cluster).map(({ name, vips }) => buildRealServer(cluster, name, vips, raw.realServers.find((r) => r.name === name) ?? { name, error: "not asked" }));
  const status: ClusterStatus = {
    schema: 1,
    inventory: cluster.source,
    backend: cluster.backend,
    checkedAt: at.toISOString(),
    instances,
    directors,
    realServers,
    problems: [],
    healthy: true,
  };
  status.problems = judge(cluster, status);
  status.healthy = status.problems.length === 0;
  return status;
}

function buildDirector(cluster: Cluster, name: string, raw: RawDirector): DirectorStatus {
  const d = cluster.directors.find((x) => x.host.name === name)!;
  const lvsd = cluster.backend === "lvsd";
  const out: DirectorStatus = {
    name,
    address: d.host.address,
    reachable: raw.error === undefined,
    error: raw.error ?? null,
    daemon: { unit: daemonUnit(cluster), state: null, active: false },
    instances: d.instances.map((i) => ({ name: i.name, role: null, daemonState: null, priority: lvsd ? null : i.priority, prioritySource: lvsd ? "lvsd" : "inventory" })),
    ipvs: null,
    ipvsDrift: [],
    lvsd: null,
  };
  if (raw.error !== undefined || raw.probe === undefined) return out;
  const p = splitDirectorProbe(raw.probe);
  out.daemon.state = p.active;
  out.daemon.active = p.active === "active";
  const problems: string[] = [];
  try {
    const held = parseIpAddrJson(p.addrs);
    for (const [k, inst] of d.instances.entries()) out.instances[k]!.role = instanceRole(inst, held);
  } catch (e) {
    problems.push(`cannot read its addresses (${message(e)})`);
  }
  const snap = raw.lvsd && "snapshot" in raw.lvsd ? raw.lvsd.snapshot : undefined;
  if (raw.lvsd && "error" in raw.lvsd) problems.push(`cannot read lvsd's status: ${raw.lvsd.error}`);
  if (snap) {
    out.lvsd = { pid: snap.pid, uptimeSec: snap.uptimeSec, routerId: snap.routerId };
    for (const i of out.instances) {
      const s = snap.instances.find((x) => x.name === i.name);
      if (s) {
        i.daemonState = s.state;
        i.priority = s.priority;
      }
    }
    const t = lvsdTable(cluster, snap);
    out.ipvs = t.rows;
    out.ipvsDrift = t.drift;
  } else if (!lvsd) {
    const t = keepalivedTable(cluster, p.ipvsSave, p.ipvsList);
    if (t) {
      out.ipvs = t.rows;
      out.ipvsDrift = t.drift;
    } else if (usesIpvs(cluster)) problems.push(`cannot read its IPVS table: ${p.ipvsSave.trim().slice(0, 200) || "ipvsadm printed nothing"}`);
    // VRRP only (no virtual service): keepalived keeps no table, and a director without ip_vs
    // (deploy loads no module for such a cluster) is right, not broken. The table stays unread.
  }
  if (problems.length) out.error = problems.join("; ");
  return out;
}

/** The inventory's real server behind an expected dest key of a service. */
function inventoryDest(s: ResolvedService | undefined, key: string): ResolvedRealServer | undefined {
  return s?.realServers.find((r) => endpoint(r.address, r.port) === key);
}

const checkName = (r: ResolvedRealServer | undefined) => (r?.check ? r.check.type : undefined);

/**
 * keepalived: the kernel's table (`ipvsadm -Sn`, counts from `-Ln`) beside the inventory's.
 * keepalived is not asked; a real server's health is read from what its checker did to the table:
 * with a check, absent (or weight 0 with inhibit_on_failure) means the check failed. undefined
 * when the table cannot be read (ipvsadm missing, or ip_vs not loaded and no root).
 */
export function keepalivedTable(cluster: Cluster, save: string, list: string): { rows: ServiceRow[]; drift: string[] } | undefined {
  const { table, unknown } = parseIpvsadmSave(save);
  if (unknown.length && table.length === 0) return undefined;
  const counts = parseIpvsadmList(list);
  const expected = expectedIpvs(cluster);
  const byKey = new Map(cluster.services.map((s) => [serviceKey(s), s]));
  const actual = new Map(table.map((s) => [s.key, s]));
  const rows: ServiceRow[] = [];
  for (const key of [...expected.map((e) => e.key), ...table.map((a) => a.key).filter((k) => !byKey.has(k))]) {
    const s = byKey.get(key);
    const e = expected.find((x) => x.key === key);
    const a = actual.get(key);
    const sorryKey = s?.sorryServer && s.port !== undefined ? endpoint(s.sorryServer.address, s.sorryServer.port ?? s.port) : s?.sorryServer ? endpoint(s.sorryServer.address, s.sorryServer.port ?? 0) : undefined;
    const destKeys = [...(e?.dests.map((x) => x.key) ?? []), ...(a?.dests.map((x) => x.key).filter((k) => !e?.dests.some((x) => x.key === k)) ?? [])];
    rows.push({
      key,
      name: s?.name ?? null,
      scheduler: a?.scheduler ?? null,
      inInventory: s !== undefined,
      inTable: a !== undefined,
      realServers: destKeys.map((dk): RealServerRow => {
        const r = inventoryDest(s, dk);
        const ed = e?.dests.find((x) => x.key === dk);
        const ad = a?.dests.find((x) => x.key === dk);
        const c = counts.get(`${key}|${dk}`);
        const check = checkName(r);
        let health: RealServerRow["health"] = "unknown";
        let why: string;
        if (!r) {
          why = dk === sorryKey ? "the sorry server: in the table while every real server is down" : "not in the inventory";
        } else if (!ad) {
          if (check) [health, why] = ["down", `absent from the table: keepalived's ${check} removed it`];
          else why = "absent from the table, and no check would remove it (edited by hand?)";
        } else if (ad.weight === 0 && (ed?.weight ?? 0) > 0 && r.inhibitOnFailure && check) {
          [health, why] = ["down", `weight 0: keepalived's ${check} failed (inhibit_on_failure)`];
        } else if (check) [health, why] = ["up", `in the table: keepalived's ${check} passes`];
        else [health, why] = ["up", "in the table (no check)"];
        return {
          key: dk,
          ...(r?.host ? { host: r.host } : {}),
          sorry: dk === sorryKey,
          inInventory: r !== undefined,
          inTable: ad !== undefined,
          forward: ad?.forward ?? ed?.forward ?? null,
          weight: ad?.weight ?? null,
          expectedWeight: ed?.weight ?? null,
          activeConns: ad ? (c?.active ?? null) : null,
          inactConns: ad ? (c?.inactive ?? null) : null,
          health,
          healthReason: why,
        };
      }),
    });
  }
  // The table's differences from the inventory, less what the rows call a checker's doing.
  const explained = (d: IpvsDiff): boolean => {
    const row = rows.find((x) => x.key === d.service)?.realServers.find((x) => x.key === d.dest);
    if (d.kind === "dest-missing" || d.kind === "weight") return row?.health === "down";
    if (d.kind === "dest-extra") return row?.sorry === true;
    return false;
  };
  const text = (d: IpvsDiff): string =>
    d.kind === "dest-missing" ? `service ${d.service}: real server ${d.dest} is missing, and no check would remove it (edited by hand?)` : d.text;
  return { rows, drift: diffIpvs(expected, table).filter((d) => !explained(d)).map(text) };
}

/**
 * lvsd: the table from its status (what it wants, what the kernel has, each real server's health
 * from its own checks) beside the inventory's.
 */
export function lvsdTable(cluster: Cluster, snap: StatusSnapshot): { rows: ServiceRow[]; drift: string[] } {
  const drift: string[] = [];
  const ipvs = snap.ipvs;
  const byKey = new Map(cluster.services.map((s) => [serviceKey(s), s]));
  const theirs = new Map<string, LvsdService>((ipvs?.services ?? []).map((s) => [lvsdServiceKey(s.id), s]));
  if (!ipvs) {
    if (cluster.services.length) drift.push("lvsd keeps no IPVS table: its running config has no service (deploy again?)");
  } else if (!ipvs.available) drift.push(`lvsd cannot reach the kernel's IPVS: ${ipvs.error ?? "no reason given"}`);
  const rows: ServiceRow[] = [];
  for (const key of [...byKey.keys(), ...[...theirs.keys()].filter((k) => !byKey.has(k))]) {
    const s = byKey.get(key);
    const t = theirs.get(key);
    if (s && !t && ipvs) drift.push(`service ${key} is not in lvsd's running config (deploy again?)`);
    if (!s && t) drift.push(`service ${key} is in lvsd's running config, not in the inventory`);
    if (t && ipvs?.available && !t.inKernel) drift.push(`service ${key} is not in the kernel's table`);
    if (s && t && t.scheduler !== s.lbAlgo) drift.push(`service ${key}: scheduler ${t.scheduler}, the inventory says ${s.lbAlgo}`);
    const keys = [...(s?.realServers.map((r) => endpoint(r.address, r.port)) ?? [])];
    for (const r of t?.realServers ?? []) if (!keys.includes(endpoint(r.address, r.port))) keys.push(endpoint(r.address, r.port));
    rows.push({
      key,
      name: s?.name ?? t?.name ?? null,
      scheduler: t?.scheduler ?? null,
      inInventory: s !== undefined,
      inTable: t?.inKernel ?? false,
      realServers: keys.map((dk): RealServerRow => {
        const r = inventoryDest(s, dk);
        const x = t?.realServers.find((y) => endpoint(y.address, y.port) === dk);
        if (s && t && r && !x) drift.push(`service ${key}: real server ${dk} is not in lvsd's running config (deploy again?)`);
        if (s && x && !r && !x.sorry) drift.push(`service ${key}: real server ${dk} is in lvsd's running config, not in the inventory`);
        if (x && ipvs?.available && x.weight !== x.wantedWeight) {
          drift.push(`service ${key}: real server ${dk} has ${x.weight === null ? "no entry" : `weight ${x.weight}`} in the kernel, lvsd wants ${x.wantedWeight === null ? "it out" : `weight ${x.wantedWeight}`}`);
        }
        if (r && x && x.health.up && !x.sorry && x.wantedWeight !== null && x.wantedWeight !== r.weight) drift.push(`service ${key}: real server ${dk}: lvsd wants weight ${x.wantedWeight}, the inventory says ${r.weight}`);
        let health: RealServerRow["health"] = "unknown";
        let why = "not in lvsd's running config";
        if (x) {
          health = x.health.up ? "up" : "down";
          why = !x.health.checked ? "no check (lvsd keeps it up)" : x.health.up ? `lvsd's ${checkName(r) ?? "check"} passes` : `lvsd's ${checkName(r) ?? "check"}: ${x.health.reason ?? x.health.lastResult ?? "failing"}`;
          if (x.sorry) why = `the sorry server (${x.weight === null ? "not in use" : "in use: every real server is down"})`;
        }
        return {
          key: dk,
          ...(r?.host ? { host: r.host } : {}),
          sorry: x?.sorry ?? false,
          inInventory: r !== undefined,
          inTable: x?.weight !== null && x?.weight !== undefined,
          forward: s?.lbKind ?? null,
          weight: x?.weight ?? null,
          expectedWeight: r?.weight ?? null,
          activeConns: x && x.weight !== null ? x.activeConns : null,
          inactConns: x && x.weight !== null ? x.inactConns : null,
          // A sorry server is up or not in use; it is never "down" on its own account.
          health: x?.sorry ? "unknown" : health,
          healthReason: why,
        };
      }),
    });
  }
  return { rows, drift };
}

function buildRealServer(cluster: Cluster, name: string, vips: string[], raw: RawRealServer): RealServerHostStatus {
  const host = cluster.hosts[name]!;
  const out: RealServerHostStatus = { host: name, address: host.address, reachable: raw.error === undefined, error: raw.error ?? null, vips: vips.map((address) => ({ address, present: false })), arpIgnore: null, arpAnnounce: null, missing: [] };
  if (raw.error !== undefined || raw.probe === undefined) return out;
  try {
    const f = parseRealServerProbe(raw.probe);
    for (const v of out.vips) v.present = f.lo.has(v.address);
    out.arpIgnore = f.arpIgnore.all ?? null;
    out.arpAnnounce = f.arpAnnounce.all ?? null;
    out.missing = out.vips.filter((v) => !v.present).map((v) => `${v.address} on lo`);
    // ARP concerns IPv4 only (IPv6 neighbour discovery has no arp_ignore).
    if (out.vips.some((v) => !v.address.includes(":"))) out.missing.push(...arpMissing(f));
  } catch (e) {
    out.error = `cannot read its addresses (${message(e)})`;
  }
  return out;
}
