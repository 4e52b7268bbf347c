// lvsd.json for one director: a typed converter, not a template. JSON through handlebars would
// need a quoting helper on every string and could still emit invalid JSON; here the result is
// checked against the daemon's own schema (src/daemon/config.ts) before it is written, and printed
// with sorted keys so the file is stable (diffs and checksums only change when the config does).
import type { Cluster, DirectorVrrpInstance, ResolvedCheck, ResolvedRealServer, ResolvedService } from "../inventory/model.js";
import {
  LVSD_CONFIG_VERSION,
  LvsdConfig,
  type LvsdCheck,
  type LvsdInstance,
  type LvsdNotify,
  type LvsdRealServer,
  type LvsdService,
  type LvsdTunnel,
} from "../daemon/config.js";
import { LvsctlError } from "../errors/index.js";
import { KEEPALIVED_DEFAULTS as D } from "../inventory/limits.js";
import { splitScript, type TextKind } from "../inventory/text.js";
import { effectiveInstance, findDirector, type RenderOptions } from "./common.js";
import { lvsdSecretValue, lvsdValue as j, opt as guarded } from "./guard.js";

type Notify = DirectorVrrpInstance["notify"];

/** An optional value through the lvsd.json guard. */
const jOpt = <T extends string | undefined>(kind: TextKind, v: T, what: string): T => guarded(j, kind, v, what);

/** A script line, checked as keepalived.conf would have it, then split as keepalived splits it. */
function argv(script: string | undefined, what: string): string[] | undefined {
  if (!script) return undefined;
  const words = splitScript(j("script", script, what));
  return words.length > 0 ? words : undefined;
}

function notify(n: Notify, owner: string): LvsdNotify {
  const out: LvsdNotify = {};
  for (const k of ["master", "backup", "fault", "stop", "generic"] as const) {
    const a = argv(n[k], `${owner}'s ${k === "generic" ? "notify" : `notify_${k}`}`);
    if (a) out[k] = a;
  }
  return out;
}

function check(c: ResolvedCheck, s: ResolvedService, owner: string): LvsdCheck {
  if (c.type === "MISC_CHECK") {
    return {
      type: "MISC",
      argv: argv(c.path, `${owner}'s misc_path`) ?? [c.path],
      // keepalived: misc_timeout defaults to the service's delay_loop.
      timeoutSec: c.timeoutSec ?? s.delayLoop ?? D.delayLoopSec,
      dynamic: c.dynamic,
      retry: c.retry ?? D.retry,
      delayBeforeRetrySec: c.delayBeforeRetrySec ?? D.delayBeforeRetrySec,
      ...(c.rise !== undefined && c.rise > 1 ? { rise: c.rise } : {}),
      ...(c.alpha ? { alpha: true } : {}),
    };
  }
  const http = c.type !== "TCP_CHECK";
  const common = {
    ...(c.common.connectIp ? { connectIp: j("word", c.common.connectIp, `${owner}'s connect_ip`) } : {}),
    ...(c.common.connectPort ? { connectPort: c.common.connectPort } : {}),
    ...(c.common.bindto ? { bindto: j("word", c.common.bindto, `${owner}'s bindto`) } : {}),
    connectTimeoutSec: c.common.connectTimeoutSec ?? D.connectTimeoutSec,
    retry: c.common.retry ?? D.retry,
    delayBeforeRetrySec: c.common.delayBeforeRetrySec ?? (http ? D.httpDelayBeforeRetrySec : D.delayBeforeRetrySec),
    ...(c.common.rise !== undefined && c.common.rise > 1 ? { rise: c.common.rise } : {}),
    ...(c.common.alpha ? { alpha: true } : {}),
  };
  if (c.type === "TCP_CHECK") return { type: "TCP", ...common };
  const vhost = jOpt("kaText", c.virtualhost ?? s.virtualhost, `${owner}'s virtualhost`);
  return {
    type: c.type === "HTTP_GET" ? "HTTP" : "SSL",
    ...common,
    urls: c.urls.map((u) => ({
      path: j("kaText", u.path, `${owner}'s url path`),
      statusCodes: [...new Set(u.statusCodes)].sort((a, b) => a - b),
      ...(u.digest ? { digest: j("kaText", u.digest.toLowerCase(), `${owner}'s url digest`) } : {}),
    })),
    ...(vhost ? { virtualhost: vhost } : {}),
    // keepalived enable_sni: sni_name, else the virtualhost
    ...(c.type === "SSL_GET" && (c.sniName ?? (c.enableSni ? vhost : undefined)) ? { sni: j("kaText", c.sniName ?? vhost!, `${owner}'s sni_name`) } : {}),
    ...(c.type === "SSL_GET" && c.verifyCert ? { verifyCert: true } : {}),
  };
}

function realServer(rs: ResolvedRealServer, s: ResolvedService, service: string): LvsdRealServer {
  const owner = `real server ${rs.host ?? rs.address} of ${service}`;
  const up = argv(rs.notifyUp, `${owner}'s notify_up`);
  const down = argv(rs.notifyDown, `${owner}'s notify_down`);
  return {
    address: j("word", rs.address, `the address of ${owner}`),
    port: rs.port,
    weight: rs.weight,
    inhibitOnFailure: rs.inhibitOnFailure,
    ...(rs.uthreshold !== undefined ? { uthreshold: rs.uthreshold } : {}),
    ...(rs.lthreshold !== undefined ? { lthreshold: rs.lthreshold } : {}),
    ...(up ? { notifyUp: up } : {}),
    ...(down ? { notifyDown: down } : {}),
    ...(rs.check ? { check: check(rs.check, s, `the check of ${owner}`) } : {}),
    ...tunnelOf(s),
  };
}

/** keepalived gives each real server (and the sorry server) the service's `lvs_method TUN type ...`. */
function tunnelOf(s: ResolvedService): { tunnel?: LvsdTunnel } {
  return s.lbKind === "TUN" && s.tunnel ? { tunnel: { ...s.tunnel } } : {};
}

function service(s: ResolvedService, index: number): LvsdService {
  const owner = `virtual_servers[${index}]`;
  return {
    name: j("kaComment", s.name, `the name of ${owner}`),
    ...(s.fwmark !== undefined ? { fwmark: s.fwmark } : { vip: j("word", s.vip!, `the vip of ${owner}`), port: s.port! }),
    protocol: s.protocol,
    scheduler: s.lbAlgo,
    ...(s.schedFlags?.length ? { schedulerFlags: s.schedFlags as NonNullable<LvsdService["schedulerFlags"]> } : {}),
    ...(s.ops ? { onePacket: true } : {}),
    forwarding: s.lbKind,
    ...(s.persistenceTimeout !== undefined ? { persistenceTimeoutSec: s.persistenceTimeout } : {}),
    ...(typeof s.persistenceGranularity === "number" ? { persistenceNetmask: s.persistenceGranularity } : {}),
    ...(typeof s.persistenceGranularity === "string" ? { persistenceNetmask: j("word", s.persistenceGranularity, `${owner}'s persistence_granularity`) } : {}),
    delayLoopSec: s.delayLoop ?? D.delayLoopSec,
    ...(s.virtualhost ? { virtualhost: j("kaText", s.virtualhost, `${owner}'s virtualhost`) } : {}),
    ...(s.sorryServer ? { sorryServer: { address: j("word", s.sorryServer.address, `${owner}'s sorry_server`), port: s.fwmark !== undefined ? 0 : (s.sorryServer.port ?? s.port ?? 0), ...tunnelOf(s) } } : {}),
    quorum: s.quorum ?? D.quorum,
    hysteresis: s.hysteresis ?? D.hysteresis,
    ...(argv(s.quorumUp, `${owner}'s quorum_up`) ? { quorumUp: argv(s.quorumUp, `${owner}'s quorum_up`)! } : {}),
    ...(argv(s.quorumDown, `${owner}'s quorum_down`) ? { quorumDown: argv(s.quorumDown, `${owner}'s quorum_down`)! } : {}),
    realServers: s.realServers.map((r) => realServer(r, s, owner)),
  };
}

/**
 * global_defs.lvs_sync_daemon on a director that runs its instance; the sync ID defaults to the
 * instance's VRID, as in keepalived. maxlen, port, ttl and group are refused for lvsd by
 * validate.ts (LVS602), so only what lvsd sets reaches here.
 */
function syncDaemon(cluster: Cluster, instances: LvsdInstance[]): Pick<LvsdConfig, "lvsSyncDaemon"> {
  const s = cluster.globalDefs.lvsSyncDaemon;
  const inst = s ? instances.find((i) => i.name === s.instance) : undefined;
  if (!s || !inst) return {};
  return { lvsSyncDaemon: { interface: j("interface", s.interface, "lvs_sync_daemon's interface"), instance: inst.name, syncId: s.syncId ?? inst.vrid } };
}

/** The lvsd config for one director, as the daemon will parse it. Pure. */
export function toLvsdConfig(cluster: Cluster, directorName: string, opts: RenderOptions): LvsdConfig {
  const director = findDirector(cluster, directorName);
  const instances: LvsdInstance[] = director.instances.map((raw) => {
    const i = effectiveInstance(raw, directorName, cluster.globalDefs.vrrpStrict, opts);
    const owner = `vrrp_instance ${i.name}`;
    return {
      name: j("kaBare", i.name, "a vrrp_instance name"),
      interface: j("interface", i.interface, `${owner}'s interface`),
      vrid: i.vrid,
      priority: i.priority,
      state: i.state,
      version: i.version,
      // v2 adverts carry whole seconds (RFC 3768 section 5.3.7), v3 centiseconds (RFC 5798 5.2.7).
      advertIntervalCs: i.version === 2 ? Math.round(i.advertInt) * 100 : Math.round(i.advertInt * 100),
      ...(i.authPass !== undefined ? { authPass: lvsdSecretValue(i.authPass, `auth_pass of ${owner}`) } : {}),
      ...(i.unicastSrcIp ? { unicastSrcIp: j("word", i.unicastSrcIp, `${owner}'s unicast_src_ip`) } : {}),
      unicastPeers: i.unicastPeers.map((p) => j("word", p, `a unicast_peer of ${owner}`)),
      vips: i.vips.map((v) => ({
        address: j("word", v.address, `a virtual_ipaddress of ${owner}`),
        prefix: v.prefix,
        dev: j("interface", v.dev ?? i.interface, `the dev of ${v.address} in ${owner}`),
        ...(v.label ? { label: j("ipLabel", v.label, `the label of ${v.address} in ${owner}`) } : {}),
      })),
      nopreempt: i.nopreempt,
      preemptDelaySec: i.preemptDelay ?? 0,
      trackInterfaces: i.trackInterfaces.map((t) => j("interface", t, `a track_interface of ${owner}`)),
      garp: {
        masterDelaySec: i.garp.masterDelay ?? D.garpMasterDelaySec,
        masterRepeat: i.garp.masterRepeat ?? D.garpMasterRepeat,
        masterRefreshSec: i.garp.masterRefresh ?? D.garpMasterRefreshSec,
      },
      notify: notify(i.notify, owner),
      ...(i.version === 3 && cluster.lvsd.v3Checksum === "lenient" ? { v3ChecksumLenient: true } : {}),
    };
  });
  const mine = new Set(instances.map((i) => i.name));
  const config: LvsdConfig = {
    version: LVSD_CONFIG_VERSION,
    routerId: j("kaText", director.routerId, "router_id"),
    statusPort: cluster.lvsd.statusPort,
    instances,
    syncGroups: cluster.syncGroups
      .map((g) => ({
        name: j("kaBare", g.name, "a vrrp_sync_group name"),
        instances: g.instances.filter((n) => mine.has(n)).map((n) => j("kaBare", n, `a member of vrrp_sync_group ${g.name}`)),
        notify: notify(g.notify, `vrrp_sync_group ${g.name}`),
      }))
      .filter((g) => g.instances.length > 0),
    services: cluster.services.map(service),
    ...syncDaemon(cluster, instances),
  };
  // The daemon parses with this schema; a config it would refuse must not leave lvsctl.
  const r = LvsdConfig.safeParse(config);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new LvsctlError("LVS705", `the lvsd config for ${directorName} does not match lvsd's schema at ${first?.path.join(".")}: ${first?.message}`, {
      hint: "this is a bug in lvsctl's converter or a gap in inventory validation; please report it with the inventory",
    });
  }
  return config;
}

/** JSON with object keys sorted at every level, two-space indent, final newline. */
export function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value), null, 2) + "\n";
}

export function renderLvsdJson(cluster: Cluster, directorName: string, opts: RenderOptions): string {
  return stableJson(toLvsdConfig(cluster, directorName, opts));
}
