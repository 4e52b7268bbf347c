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
import { renderTemplate } from "./handlebars.js";

type Notify = DirectorVrrpInstance["notify"];

/** Only the scripts that are set (an empty string is none). */
function notifyView(n: Notify): Notify {
  const v: Notify = {};
  for (const k of ["master", "backup", "fault", "stop", "generic"] as const) if (n[k]) v[k] = n[k];
  return v;
}

function opt(n: number | undefined, decimals = 3): string | undefined {
  return n === undefined ? undefined : num(n, decimals);
}

function checkView(c: ResolvedCheck): object {
  if (c.type === "MISC_CHECK") {
    return {
      type: c.type,
      misc: true,
      path: c.path,
      timeout: opt(c.timeoutSec),
      dynamic: c.dynamic,
      retry: opt(c.retry),
      delayBeforeRetry: opt(c.delayBeforeRetrySec),
      alpha: c.alpha === true,
    };
  }
  const common = {
    connectIp: c.common.connectIp,
    connectPort: opt(c.common.connectPort),
    bindto: c.common.bindto,
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
      path: u.path,
      digest: u.digest?.toLowerCase(),
      statusCodes: u.statusCodes.length > 0 ? statusCodeRanges(u.statusCodes).join(" ") : undefined,
    })),
    virtualhost: c.virtualhost,
    // keepalived 2.2.7 has enable_sni (the virtualhost as server name) but not sni_name; verify_cert is lvsd's
    enableSni: c.type === "SSL_GET" && (c.enableSni === true || c.sniName !== undefined),
    ...common,
  };
}

function realServerView(rs: ResolvedRealServer): object {
  return {
    address: rs.address,
    // Port 0 (fwmark services that keep the client's port) is written without a port.
    port: rs.port > 0 ? String(rs.port) : undefined,
    weight: String(rs.weight),
    inhibitOnFailure: rs.inhibitOnFailure,
    uthreshold: opt(rs.uthreshold),
    lthreshold: opt(rs.lthreshold),
    notifyUp: rs.notifyUp,
    notifyDown: rs.notifyDown,
    check: rs.check ? checkView(rs.check) : undefined,
  };
}

function serviceView(s: ResolvedService): object {
  return {
    name: s.name,
    head: s.fwmark !== undefined ? `fwmark ${s.fwmark}` : `${s.vip} ${s.port}`,
    delayLoop: opt(s.delayLoop),
    lbAlgo: s.lbAlgo,
    lbKind: s.lbKind,
    protocol: s.fwmark !== undefined ? undefined : s.protocol,
    persistenceTimeout: opt(s.persistenceTimeout),
    persistenceGranularity: s.persistenceGranularity,
    virtualhost: s.virtualhost,
    // A fwmark service keeps the client's port: keepalived clears a sorry server port there (warning).
    sorryServer: s.sorryServer
      ? `${s.sorryServer.address}${s.sorryServer.port && s.fwmark === undefined ? ` ${s.sorryServer.port}` : ""}`
      : undefined,
    quorum: opt(s.quorum),
    hysteresis: opt(s.hysteresis),
    quorumUp: s.quorumUp,
    quorumDown: s.quorumDown,
    realServers: s.realServers.map(realServerView),
  };
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
    director: directorName,
    global: {
      routerId: director.routerId,
      notificationEmail: g.notificationEmail,
      notificationEmailFrom: g.notificationEmailFrom,
      smtpServer: g.smtpServer,
      smtpConnectTimeout: opt(g.smtpConnectTimeout),
      vrrpStrict: g.vrrpStrict,
      // keepalived refuses to run scripts as root without this (exit 5 from `keepalived -t`); the
      // scripts are the operator's own, run as root like keepalived's notify scripts always were.
      scriptSecurity: usesScripts(cluster, instances),
    },
    // A sync group is rendered on a director only with the instances that director runs.
    syncGroups: cluster.syncGroups
      .map((sg) => ({ name: sg.name, instances: sg.instances.filter((n) => mine.has(n)), notify: notifyView(sg.notify) }))
      .filter((sg) => sg.instances.length > 0),
    instances: instances.map((i) => ({
      name: i.name,
      state: i.state,
      interface: i.interface,
      vrid: String(i.vrid),
      priority: String(i.priority),
      // v2 carries whole seconds; v3 centiseconds (RFC 5798 section 5.2.7).
      advertInt: num(i.advertInt, i.version === 3 ? 2 : 0),
      version: String(i.version),
      authPass: i.authPass,
      unicastSrcIp: i.unicastSrcIp,
      unicastPeers: i.unicastPeers,
      vips: i.vips.map((v) => ({ address: v.address, prefix: String(v.prefix), dev: v.dev, label: v.label })),
      nopreempt: i.nopreempt,
      preemptDelay: i.preemptDelay ? num(i.preemptDelay) : undefined,
      trackInterfaces: i.trackInterfaces,
      garpMasterDelay: opt(i.garp.masterDelay),
      garpMasterRepeat: opt(i.garp.masterRepeat),
      garpMasterRefresh: opt(i.garp.masterRefresh),
      notify: notifyView(i.notify),
    })),
    services: cluster.services.map(serviceView),
  };
  return renderTemplate("keepalived.conf", view);
}
