// keepalived.conf for one director: a view prepared here (every value already formatted, every
// optional number a string so 0 is not mistaken for "absent"), laid out by
// templates/keepalived.conf.hbs and its `_ka_*.hbs` partials.
//
// Checked against Debian's keepalived 2.2.7 `keepalived -t` (test/lab/keepalived-config.test.ts),
// which exits non-zero on warnings too, so this renderer writes nothing keepalived would warn
// about for a valid inventory: `retry`, never the deprecated `nb_get_retry`; no `protocol` on
// fwmark services (ignored with a warning); `version` inside each instance.
import type { Cluster, DirectorVrrpInstance, ResolvedCheck, ResolvedRealServer, ResolvedService } from "../inventory/model.js";
import { effectiveInstance, findDirector, num, statusCodeRanges, type RenderOptions } from "./common.js";
import { kaValue as ka, opt as guarded } from "./guard.js";
import { renderTemplate } from "./handlebars.js";

type Notify = DirectorVrrpInstance["notify"];

/** Only the scripts that are set (an empty string is none). */
function notifyView(n: Notify, owner: string): Notify {
  const v: Notify = {};
  for (const k of ["master", "backup", "fault", "stop", "generic"] as const) if (n[k]) v[k] = ka("script", n[k], `${owner}'s ${k === "generic" ? "notify" : `notify_${k}`}`);
  return v;
}

/** An optional value through the keepalived.conf guard. */
const kaOpt = <T extends string | undefined>(kind: Parameters<typeof ka>[0], v: T, what: string): T => guarded(ka, kind, v, what);

function opt(n: number | undefined, decimals = 3): string | undefined {
  return n === undefined ? undefined : num(n, decimals);
}

function checkView(c: ResolvedCheck, owner: string): object {
  if (c.type === "MISC_CHECK") {
    return {
      type: c.type,
      misc: true,
      path: ka("script", c.path, `${owner}'s misc_path`),
      timeout: opt(c.timeoutSec),
      dynamic: c.dynamic,
      retry: opt(c.retry),
      delayBeforeRetry: opt(c.delayBeforeRetrySec),
      alpha: c.alpha === true,
    };
  }
  const common = {
    connectIp: kaOpt("word", c.common.connectIp, `${owner}'s connect_ip`),
    connectPort: opt(c.common.connectPort),
    bindto: kaOpt("word", c.common.bindto, `${owner}'s bindto`),
    connectTimeout: opt(c.common.connectTimeoutSec),
    retry: opt(c.common.retry),
    delayBeforeRetry: opt(c.common.delayBeforeRetrySec),
    // rise is lvsd's alone: keepalived brings a server back on one success
    alpha: c.common.alpha === true,
  };
  if (c.type === "TCP_CHECK") return { type: c.type, misc: false, http: false, ...common };
  return {
    type: c.type,
    misc: false,
    http: true,
    urls: c.urls.map((u) => ({
      path: ka("kaText", u.path, `${owner}'s url path`),
      digest: kaOpt("kaText", u.digest?.toLowerCase(), `${owner}'s url digest`),
      statusCodes: u.statusCodes.length > 0 ? statusCodeRanges(u.statusCodes).join(" ") : undefined,
    })),
    virtualhost: kaOpt("kaText", c.virtualhost, `${owner}'s virtualhost`),
    // keepalived 2.2.7 has enable_sni (the virtualhost as server name) but not sni_name; verify_cert is lvsd's
    enableSni: c.type === "SSL_GET" && (c.enableSni === true || c.sniName !== undefined),
    ...common,
  };
}

function realServerView(rs: ResolvedRealServer, service: string): object {
  const owner = `real server ${rs.host ?? rs.address} of ${service}`;
  return {
    address: ka("word", rs.address, `the address of ${owner}`),
    // Port 0 (fwmark services that keep the client's port) is written without a port.
    port: rs.port > 0 ? String(rs.port) : undefined,
    weight: String(rs.weight),
    inhibitOnFailure: rs.inhibitOnFailure,
    uthreshold: opt(rs.uthreshold),
    lthreshold: opt(rs.lthreshold),
    notifyUp: kaOpt("script", rs.notifyUp, `${owner}'s notify_up`),
    notifyDown: kaOpt("script", rs.notifyDown, `${owner}'s notify_down`),
    smtpAlert: smtpAlert(rs.smtpAlert),
    check: rs.check ? checkView(rs.check, `the check of ${owner}`) : undefined,
  };
}

function serviceView(s: ResolvedService, index: number): object {
  const owner = `virtual_servers[${index}]`;
  return {
    name: ka("kaComment", s.name, `the name of ${owner}`),
    head: s.fwmark !== undefined ? `fwmark ${s.fwmark}` : `${ka("word", s.vip!, `the vip of ${owner}`)} ${s.port}`,
    delayLoop: opt(s.delayLoop),
    // Enums in the schema; guarded still, since a model can be built without it.
    lbAlgo: ka("word", s.lbAlgo, `${owner}'s lb_algo`),
    // bare keywords after lb_algo: keepalived takes sh-*/mh-* only once it knows the scheduler
    schedFlags: (s.schedFlags ?? []).map((f) => ka("word", f, `${owner}'s sched_flags`)),
    ops: s.ops === true,
    lbKind: lbKind(s, owner),
    protocol: s.fwmark !== undefined ? undefined : ka("word", s.protocol, `${owner}'s protocol`),
    persistenceTimeout: opt(s.persistenceTimeout),
    persistenceGranularity: s.persistenceGranularity === undefined ? undefined : ka("word", String(s.persistenceGranularity), `${owner}'s persistence_granularity`),
    virtualhost: kaOpt("kaText", s.virtualhost, `${owner}'s virtualhost`),
    // A fwmark service keeps the client's port: keepalived clears a sorry server port there (warning).
    sorryServer: s.sorryServer
      ? `${ka("word", s.sorryServer.address, `${owner}'s sorry_server`)}${s.sorryServer.port && s.fwmark === undefined ? ` ${s.sorryServer.port}` : ""}`
      : undefined,
    quorum: opt(s.quorum),
    hysteresis: opt(s.hysteresis),
    quorumUp: kaOpt("script", s.quorumUp, `${owner}'s quorum_up`),
    quorumDown: kaOpt("script", s.quorumDown, `${owner}'s quorum_down`),
    smtpAlert: smtpAlert(s.smtpAlert),
    realServers: s.realServers.map((r) => realServerView(r, owner)),
  };
}

/** `TUN type gue port 6080 csum`: keepalived 2.2's lvs_method words (lb_kind takes the same);
 * ipip without a checksum is written as plain `TUN`, what keepalived 2.0 also reads. */
function lbKind(s: ResolvedService, owner: string): string {
  const kind = ka("word", s.lbKind, `${owner}'s lb_kind`);
  const t = s.lbKind === "TUN" ? s.tunnel : undefined;
  if (!t || (t.type === "ipip" && (t.checksum ?? "nocsum") === "nocsum")) return kind;
  const words = [kind, "type", t.type];
  if (t.port !== undefined) words.push("port", String(t.port));
  if (t.checksum !== undefined) words.push(t.checksum);
  return words.join(" ");
}

/** keepalived's `smtp_alert <BOOL>`: the bare keyword for true (as its samples write it), `false` written out. */
function smtpAlert(v: boolean | undefined): string | undefined {
  return v === undefined ? undefined : v ? "smtp_alert" : "smtp_alert false";
}

/** global_defs `lvs_sync_daemon IF INSTANCE [id N] [maxlen N] [port N] [ttl N] [group IP]`, on a director that runs the instance. */
function syncDaemonLine(cluster: Cluster, mine: Set<string>): string | undefined {
  const s = cluster.globalDefs.lvsSyncDaemon;
  // keepalived clears the setting, with an error, where the instance does not exist (vrrp.c).
  if (!s || !mine.has(s.instance)) return undefined;
  const words = [ka("interface", s.interface, "lvs_sync_daemon's interface"), ka("kaBare", s.instance, "lvs_sync_daemon's instance")];
  for (const [k, v] of [["id", s.syncId], ["maxlen", s.maxlen], ["port", s.port], ["ttl", s.ttl]] as const) if (v !== undefined) words.push(k, String(v));
  if (s.group !== undefined) words.push("group", ka("word", s.group, "lvs_sync_daemon's group"));
  return words.join(" ");
}

function usesScripts(cluster: Cluster, instances: { notify: Notify }[]): boolean {
  const any = (n: Notify) => Object.values(n).some((v) => typeof v === "string" && v.length > 0);
  return (
    instances.some((i) => any(i.notify)) ||
    cluster.syncGroups.some((g) => any(g.notify)) ||
    cluster.services.some((s) => s.realServers.some((r) => r.notifyUp || r.notifyDown || r.check?.type === "MISC_CHECK"))
  );
}

/** The keepalived.conf text for one director. */
export function renderKeepalivedConf(cluster: Cluster, directorName: string, opts: RenderOptions): string {
  const director = findDirector(cluster, directorName);
  const instances = director.instances.map((i) => effectiveInstance(i, directorName, cluster.globalDefs.vrrpStrict, opts));
  const mine = new Set(instances.map((i) => i.name));
  const g = cluster.globalDefs;
  const view = {
    director: ka("name", directorName, "the director's name"),
    global: {
      routerId: ka("kaText", director.routerId, "router_id"),
      // zod checks addresses as e-mail (one may start with '-'): only the rule every kind shares here.
      notificationEmail: g.notificationEmail.map((e) => ka("line", e, "a notification_email address")),
      notificationEmailFrom: kaOpt("line", g.notificationEmailFrom, "notification_email_from"),
      smtpServer: kaOpt("kaBare", g.smtpServer, "smtp_server"),
      smtpConnectTimeout: opt(g.smtpConnectTimeout),
      vrrpStrict: g.vrrpStrict,
      smtpAlert: smtpAlert(g.smtpAlert),
      lvsSyncDaemon: syncDaemonLine(cluster, mine),
      // keepalived refuses to run scripts as root without this (exit 5 from `keepalived -t`); the
      // scripts are the operator's own, run as root like keepalived's notify scripts always were.
      scriptSecurity: usesScripts(cluster, instances),
    },
    // A sync group is rendered on a director only with the instances that director runs.
    syncGroups: cluster.syncGroups
      .map((sg) => ({
        name: ka("kaBare", sg.name, "a vrrp_sync_group name"),
        instances: sg.instances.filter((n) => mine.has(n)).map((n) => ka("kaBare", n, `a member of vrrp_sync_group ${sg.name}`)),
        notify: notifyView(sg.notify, `vrrp_sync_group ${sg.name}`),
        smtpAlert: smtpAlert(sg.smtpAlert),
      }))
      .filter((sg) => sg.instances.length > 0),
    instances: instances.map((i) => ({
      name: ka("kaBare", i.name, "a vrrp_instance name"),
      state: ka("word", i.state, `vrrp_instance ${i.name}'s state`),
      interface: ka("interface", i.interface, `vrrp_instance ${i.name}'s interface`),
      vrid: String(i.vrid),
      priority: String(i.priority),
      // v2 carries whole seconds; v3 centiseconds (RFC 5798 section 5.2.7).
      advertInt: num(i.advertInt, i.version === 3 ? 2 : 0),
      version: String(i.version),
      authPass: i.authPass, // the template's authPass helper guards it (kaSecretValue) and never echoes it
      // One source address, two names in keepalived: written as the one that matches the transport.
      srcIpKeyword: i.unicastPeers.length > 0 ? "unicast_src_ip" : "mcast_src_ip",
      unicastSrcIp: kaOpt("word", i.unicastSrcIp, `vrrp_instance ${i.name}'s unicast_src_ip`),
      unicastPeers: i.unicastPeers.map((p) => ka("word", p, `a unicast_peer of vrrp_instance ${i.name}`)),
      vips: i.vips.map((v) => ({
        address: ka("word", v.address, `a virtual_ipaddress of vrrp_instance ${i.name}`),
        prefix: String(v.prefix),
        dev: kaOpt("interface", v.dev, `the dev of ${v.address} in vrrp_instance ${i.name}`),
        label: kaOpt("ipLabel", v.label, `the label of ${v.address} in vrrp_instance ${i.name}`),
      })),
      excludedVips: (i.excludedVips ?? []).map((v) => ({
        address: ka("word", v.address, `a virtual_ipaddress_excluded of vrrp_instance ${i.name}`),
        prefix: String(v.prefix),
        dev: kaOpt("interface", v.dev, `the dev of ${v.address} in vrrp_instance ${i.name}`),
        label: kaOpt("ipLabel", v.label, `the label of ${v.address} in vrrp_instance ${i.name}`),
      })),
      nopreempt: i.nopreempt,
      preemptDelay: i.preemptDelay ? num(i.preemptDelay) : undefined,
      trackInterfaces: i.trackInterfaces.map((t) => ka("interface", t, `a track_interface of vrrp_instance ${i.name}`)),
      garpMasterDelay: opt(i.garp.masterDelay),
      garpMasterRepeat: opt(i.garp.masterRepeat),
      garpMasterRefresh: opt(i.garp.masterRefresh),
      notify: notifyView(i.notify, `vrrp_instance ${i.name}`),
      smtpAlert: smtpAlert(i.smtpAlert),
    })),
    services: cluster.services.map(serviceView),
  };
  return renderTemplate("keepalived.conf", view);
}
