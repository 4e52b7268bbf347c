// From a validated inventory to the resolved cluster (model.ts): defaults, group settings and
// host settings merged; roles from the `directors` / `realservers` groups; every VRRP instance as
// each director runs it. Pure and total over inventories that passed validate.ts.
import type {
  BecomeSpec,
  CheckCommon,
  Cluster,
  DirectorVrrpInstance,
  JumpHop,
  ResolvedCheck,
  ResolvedDirector,
  ResolvedHost,
  ResolvedRealServer,
  ResolvedService,
  ResolvedSyncDaemon,
  ResolvedVip,
  Role,
} from "./model.js";
import type { Check, Host, Inventory, VirtualService, Vip } from "./schema.js";
import { ALL, buildTopology, canonicalIp, instanceMembers, parseVip, serviceName, type Topology } from "./topology.js";
import { tarballVersion } from "./tarball-name.js";

/** SSH port (RFC 4253 section 4.1 / IANA). */
export const DEFAULT_SSH_PORT = 22;
export const DEFAULT_USER = "root";
export const DEFAULT_CONNECT_TIMEOUT_SEC = 10;
/** keepalived.conf(5): `persistence_timeout` given without a value means 360 s. */
export const DEFAULT_PERSISTENCE_TIMEOUT_SEC = 360;

export interface ResolveOptions {
  /** For `agent: true` (SSH_AUTH_SOCK); default process.env. */
  env?: NodeJS.ProcessEnv;
}

type Ssh = NonNullable<Inventory["defaults"]>;

/** The SSH settings that apply to a host: defaults < all < groups (shallow first, then by name) < host. */
export function sshSettingsFor(inv: Inventory, topo: Topology, host: string): Ssh {
  const layers: Ssh[] = [];
  if (inv.defaults) layers.push(inv.defaults);
  for (const g of groupsByPrecedence(topo, host)) {
    const ssh = own(inv.groups, g)?.ssh;
    if (ssh) layers.push(ssh);
  }
  const h = own(inv.hosts, host);
  if (h) layers.push(pickSsh(h));
  const out: Ssh = {};
  for (const l of layers) for (const [k, v] of Object.entries(l)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** A host's groups from weakest to strongest: all, then by depth (parents before children), then name. */
function groupsByPrecedence(topo: Topology, host: string): string[] {
  const gs = (topo.groupsOf.get(host) ?? []).filter((g) => g !== ALL);
  gs.sort((a, b) => (topo.depth.get(a) ?? 1) - (topo.depth.get(b) ?? 1) || (a < b ? -1 : a > b ? 1 : 0));
  return [ALL, ...gs];
}

function pickSsh(h: Host): Ssh {
  const { address: _a, groups: _g, vars: _v, ...ssh } = h;
  return ssh;
}

function own<T>(rec: Record<string, T>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(rec, key) ? rec[key] : undefined;
}

function becomeSpec(b: Ssh["become"]): BecomeSpec | undefined {
  if (b === undefined || b === false) return undefined;
  if (b === true) return { method: "sudo", user: DEFAULT_USER };
  return { method: "sudo", user: b.user, ...(b.password !== undefined ? { password: b.password } : {}) };
}

function agentPath(agent: Ssh["agent"], env: NodeJS.ProcessEnv): string | undefined {
  if (agent === undefined || agent === false) return undefined;
  if (agent === true) return env["SSH_AUTH_SOCK"] || undefined;
  return agent;
}

/** `[user@]host[:port]`, `[user@][v6addr]:port`; undefined when it is not of that form. */
export function parseJumpTarget(s: string): { user?: string; address: string; port?: number } | undefined {
  const m = /^(?:([^@\s]+)@)?(\[[0-9A-Fa-f:.]+\]|[^@:\s[\]]+)(?::(\d{1,5}))?$/.exec(s);
  if (!m) return undefined;
  const port = m[3] !== undefined ? Number(m[3]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  const address = m[2]!.replace(/^\[|\]$/g, "");
  return { ...(m[1] ? { user: m[1] } : {}), address, ...(port !== undefined ? { port } : {}) };
}

export function jumpList(j: Ssh["jump"]): string[] {
  return j === undefined ? [] : typeof j === "string" ? [j] : j;
}

export function resolve(inv: Inventory, file: string, opts: ResolveOptions = {}): Cluster {
  const env = opts.env ?? process.env;
  const topo = buildTopology(inv);

  // Hosts referenced as real servers are real servers even when no group says so: they need the
  // VIP on lo and the ARP sysctls all the same.
  const rsHosts = new Set(inv.virtual_servers.flatMap((s) => s.real_servers.map((r) => r.host).filter((h): h is string => !!h)));
  // So are inventory hosts named (by address) as a service's sorry server: in DR and TUN they
  // need the VIP on lo, in NAT the route back, as any real server.
  const sorry = new Set(inv.virtual_servers.flatMap((s) => (s.sorry_server ? [canonicalIp(s.sorry_server.address)] : [])));
  for (const h of topo.hosts) if (sorry.has(canonicalIp(own(inv.hosts, h)!.address)) && !topo.directors.includes(h)) rsHosts.add(h);
  const directorSet = new Set(topo.directors);
  const realserverSet = new Set(topo.realservers);

  const hostBase = (name: string) => {
    const ssh = sshSettingsFor(inv, topo, name);
    const h = own(inv.hosts, name)!;
    return { ssh, h };
  };

  const jumpHops = (name: string, seen: Set<string>): JumpHop[] => {
    const { ssh } = hostBase(name);
    const hops: JumpHop[] = [];
    for (const j of jumpList(ssh.jump)) {
      if (own(inv.hosts, j)) {
        if (seen.has(j)) continue; // a loop: reported by validate.ts
        seen.add(j);
        hops.push(...jumpHops(j, seen));
        seen.delete(j);
        const t = hostBase(j);
        const agent = agentPath(t.ssh.agent, env);
        hops.push({
          name: j,
          address: t.h.address,
          port: t.ssh.port ?? DEFAULT_SSH_PORT,
          user: t.ssh.user ?? DEFAULT_USER,
          ...(t.ssh.key_file !== undefined ? { keyFile: t.ssh.key_file } : {}),
          ...(agent !== undefined ? { agent } : {}),
          ...(t.ssh.password !== undefined ? { password: t.ssh.password } : {}),
        });
      } else {
        const t = parseJumpTarget(j);
        if (!t) continue;
        const agent = agentPath(ssh.agent, env);
        hops.push({
          name: j,
          address: t.address,
          port: t.port ?? DEFAULT_SSH_PORT,
          user: t.user ?? inv.defaults?.user ?? DEFAULT_USER,
          ...(ssh.key_file !== undefined ? { keyFile: ssh.key_file } : {}),
          ...(agent !== undefined ? { agent } : {}),
        });
      }
    }
    return hops;
  };

  const hosts: Record<string, ResolvedHost> = {};
  for (const name of topo.hosts) {
    const { ssh, h } = hostBase(name);
    const roles: Role[] = [];
    if (directorSet.has(name)) roles.push("director");
    if (realserverSet.has(name) || rsHosts.has(name)) roles.push("realserver");
    const vars: Record<string, unknown> = {};
    for (const g of groupsByPrecedence(topo, name)) Object.assign(vars, own(inv.groups, g)?.vars ?? {});
    Object.assign(vars, h.vars ?? {});
    const agent = agentPath(ssh.agent, env);
    const become = becomeSpec(ssh.become);
    hosts[name] = {
      name,
      address: h.address,
      port: ssh.port ?? DEFAULT_SSH_PORT,
      user: ssh.user ?? DEFAULT_USER,
      ...(ssh.key_file !== undefined ? { keyFile: ssh.key_file } : {}),
      ...(agent !== undefined ? { agent } : {}),
      ...(ssh.password !== undefined ? { password: ssh.password } : {}),
      ...(become ? { become } : {}),
      jump: jumpHops(name, new Set([name])),
      connectTimeoutSec: ssh.connect_timeout ?? DEFAULT_CONNECT_TIMEOUT_SEC,
      groups: topo.groupsOf.get(name) ?? [ALL],
      roles,
      vars,
    };
  }

  const addressOf = (h: string) => own(inv.hosts, h)?.address;
  const perDirector = new Map<string, DirectorVrrpInstance[]>(topo.directors.map((d) => [d, []]));
  for (const inst of inv.vrrp_instances) {
    const members = instanceMembers(inst, topo, addressOf, { vrrpStrict: inv.global_defs.vrrp_strict });
    const vipsOf = (list: readonly Vip[]): ResolvedVip[] => {
      const out: ResolvedVip[] = [];
      for (const v of list) {
        const p = parseVip(v);
        if ("error" in p) continue; // rejected by validate.ts
        out.push({ address: p.address, prefix: p.prefix, ...(p.dev ? { dev: p.dev } : {}), ...(p.label ? { label: p.label } : {}) });
      }
      return out;
    };
    const vips = vipsOf(inst.virtual_ipaddress);
    const excludedVips = vipsOf(inst.virtual_ipaddress_excluded ?? []);
    for (const m of members) {
      const peers = inst.unicast_peer
        ? inst.unicast_peer.filter((p) => p !== m.unicastSrcIp)
        : inst.unicast
          ? members.filter((o) => o !== m && o.unicastSrcIp !== undefined).map((o) => o.unicastSrcIp!)
          : [];
      perDirector.get(m.host)?.push({
        name: inst.name,
        interface: m.interface,
        vrid: inst.virtual_router_id,
        priority: m.priority,
        state: m.state,
        advertInt: inst.advert_int,
        version: inst.version,
        ...(inst.authentication ? { authPass: inst.authentication.auth_pass } : {}),
        ...(m.unicastSrcIp !== undefined ? { unicastSrcIp: m.unicastSrcIp } : {}),
        unicastPeers: peers,
        vips,
        ...(excludedVips.length > 0 ? { excludedVips } : {}),
        nopreempt: inst.nopreempt,
        ...(inst.preempt_delay !== undefined ? { preemptDelay: inst.preempt_delay } : {}),
        trackInterfaces: inst.track_interface ?? [],
        garp: {
          ...(inst.garp_master_delay !== undefined ? { masterDelay: inst.garp_master_delay } : {}),
          ...(inst.garp_master_repeat !== undefined ? { masterRepeat: inst.garp_master_repeat } : {}),
          ...(inst.garp_master_refresh !== undefined ? { masterRefresh: inst.garp_master_refresh } : {}),
        },
        notify: notifyOf(inst),
        ...(inst.smtp_alert !== undefined ? { smtpAlert: inst.smtp_alert } : {}),
      });
    }
  }

  const gd = inv.global_defs;
  const directors: ResolvedDirector[] = topo.directors.map((d) => ({
    host: hosts[d]!,
    routerId: gd.router_id ?? gd.lvs_id ?? d,
    instances: perDirector.get(d) ?? [],
  }));

  const services = inv.virtual_servers.map((s) => resolveService(s, inv));
  const k = inv.director.keepalived;
  // A source build's version, when not given, is the one its tarball's name says.
  const kaVersion = k.version ?? (k.tarball !== undefined ? tarballVersion(k.tarball) : undefined);

  return {
    source: file,
    hosts,
    groups: Object.fromEntries(topo.members),
    directors,
    realServers: topo.hosts.filter((h) => hosts[h]!.roles.includes("realserver")).map((h) => hosts[h]!),
    backend: inv.director.backend,
    keepalived: {
      from: k.from,
      ...(kaVersion !== undefined ? { version: kaVersion } : {}),
      ...(k.tarball !== undefined ? { tarball: k.tarball } : {}),
      ...(k.sha256 !== undefined ? { sha256: k.sha256.toLowerCase() } : {}),
      prefix: k.prefix,
      sysconfdir: k.sysconfdir,
      configureOptions: k.configure_options ?? [],
    },
    lvsd: { statusPort: inv.director.lvsd.status_port, installDir: inv.director.lvsd.install_dir, node: inv.director.lvsd.node, v3Checksum: inv.director.lvsd.v3_checksum },
    // Only the overrides: the baseline follows from the services (sysctls.ts).
    directorSysctls: Object.fromEntries(Object.entries(inv.director.sysctls ?? {}).map(([k, v]) => [k, String(v)])),
    globalDefs: {
      notificationEmail: gd.notification_email ?? [],
      ...(gd.notification_email_from !== undefined ? { notificationEmailFrom: gd.notification_email_from } : {}),
      ...(gd.smtp_server !== undefined ? { smtpServer: gd.smtp_server } : {}),
      ...(gd.smtp_connect_timeout !== undefined ? { smtpConnectTimeout: gd.smtp_connect_timeout } : {}),
      vrrpStrict: gd.vrrp_strict,
      ...(gd.smtp_alert !== undefined ? { smtpAlert: gd.smtp_alert } : {}),
      ...syncDaemonOf(inv),
    },
    syncGroups: inv.vrrp_sync_groups.map((g) => ({ name: g.name, instances: [...g.group], notify: notifyOf(g), ...(g.smtp_alert !== undefined ? { smtpAlert: g.smtp_alert } : {}) })),
    services,
  };
}

/**
 * global_defs.lvs_sync_daemon, else the first instance's older lvs_sync_daemon_interface (keepalived
 * 1.x: the daemon follows that instance). validate.ts refuses both at once (LVS329).
 */
function syncDaemonOf(inv: Inventory): { lvsSyncDaemon?: ResolvedSyncDaemon } {
  const g = inv.global_defs.lvs_sync_daemon;
  if (g) {
    return {
      lvsSyncDaemon: {
        interface: g.interface,
        instance: g.instance,
        ...(g.id !== undefined ? { syncId: g.id } : {}),
        ...(g.maxlen !== undefined ? { maxlen: g.maxlen } : {}),
        ...(g.port !== undefined ? { port: g.port } : {}),
        ...(g.ttl !== undefined ? { ttl: g.ttl } : {}),
        ...(g.group !== undefined ? { group: g.group } : {}),
      },
    };
  }
  const old = inv.vrrp_instances.find((i) => i.lvs_sync_daemon_interface !== undefined);
  return old ? { lvsSyncDaemon: { interface: old.lvs_sync_daemon_interface!, instance: old.name } } : {};
}

function notifyOf(x: { notify_master?: string; notify_backup?: string; notify_fault?: string; notify_stop?: string; notify?: string }): DirectorVrrpInstance["notify"] {
  return {
    ...(x.notify_master !== undefined ? { master: x.notify_master } : {}),
    ...(x.notify_backup !== undefined ? { backup: x.notify_backup } : {}),
    ...(x.notify_fault !== undefined ? { fault: x.notify_fault } : {}),
    ...(x.notify_stop !== undefined ? { stop: x.notify_stop } : {}),
    ...(x.notify !== undefined ? { generic: x.notify } : {}),
  };
}

export function resolveCheck(c: Check): ResolvedCheck {
  if (c.type === "MISC_CHECK") {
    return {
      type: "MISC_CHECK",
      path: c.misc_path,
      ...(c.misc_timeout !== undefined ? { timeoutSec: c.misc_timeout } : {}),
      dynamic: c.misc_dynamic ?? false,
      ...(c.retry !== undefined ? { retry: c.retry } : {}),
      ...(c.delay_before_retry !== undefined ? { delayBeforeRetrySec: c.delay_before_retry } : {}),
      ...(c.rise !== undefined ? { rise: c.rise } : {}),
      ...(c.alpha !== undefined ? { alpha: c.alpha } : {}),
    };
  }
  const retry = c.retry ?? c.nb_get_retry;
  const common: CheckCommon = {
    ...(c.connect_ip !== undefined ? { connectIp: c.connect_ip } : {}),
    ...(c.connect_port !== undefined ? { connectPort: c.connect_port } : {}),
    ...(c.bindto !== undefined ? { bindto: c.bindto } : {}),
    ...(c.connect_timeout !== undefined ? { connectTimeoutSec: c.connect_timeout } : {}),
    ...(retry !== undefined ? { retry } : {}),
    ...(c.delay_before_retry !== undefined ? { delayBeforeRetrySec: c.delay_before_retry } : {}),
    ...(c.rise !== undefined ? { rise: c.rise } : {}),
    ...(c.alpha !== undefined ? { alpha: c.alpha } : {}),
  };
  if (c.type === "TCP_CHECK") return { type: "TCP_CHECK", common };
  return {
    type: c.type,
    common,
    urls: c.url.map((u) => ({
      path: u.path,
      // Empty: keepalived's default, any 2xx status.
      statusCodes: u.status_code === undefined ? [] : Array.isArray(u.status_code) ? u.status_code : [u.status_code],
      ...(u.digest !== undefined ? { digest: u.digest.toLowerCase() } : {}),
    })),
    ...(c.virtualhost !== undefined ? { virtualhost: c.virtualhost } : {}),
    ...(c.type === "SSL_GET" && c.enable_sni ? { enableSni: true } : {}),
    ...(c.type === "SSL_GET" && c.sni_name !== undefined ? { sniName: c.sni_name } : {}),
    ...(c.type === "SSL_GET" && c.verify_cert ? { verifyCert: true } : {}),
  };
}

function resolveService(s: VirtualService, inv: Inventory): ResolvedService {
  const realServers: ResolvedRealServer[] = s.real_servers.map((r) => {
    const check = r.check === false ? undefined : (r.check ?? s.check);
    const address = r.address ?? (r.host !== undefined ? own(inv.hosts, r.host)?.address : undefined) ?? "";
    return {
      ...(r.host !== undefined ? { host: r.host } : {}),
      address,
      // 0 only for fwmark services without a port anywhere (DR ignores the port).
      port: r.port ?? s.port ?? 0,
      weight: r.weight,
      inhibitOnFailure: r.inhibit_on_failure ?? false,
      ...(r.uthreshold !== undefined ? { uthreshold: r.uthreshold } : {}),
      ...(r.lthreshold !== undefined ? { lthreshold: r.lthreshold } : {}),
      ...(r.notify_up !== undefined ? { notifyUp: r.notify_up } : {}),
      ...(r.notify_down !== undefined ? { notifyDown: r.notify_down } : {}),
      ...(r.smtp_alert !== undefined ? { smtpAlert: r.smtp_alert } : {}),
      ...(check ? { check: resolveCheck(check) } : {}),
    };
  });
  const persistence = s.persistence_timeout === true ? DEFAULT_PERSISTENCE_TIMEOUT_SEC : s.persistence_timeout;
  return {
    name: serviceName(s),
    ...(s.vip !== undefined ? { vip: s.vip } : {}),
    ...(s.port !== undefined ? { port: s.port } : {}),
    ...(s.fwmark !== undefined ? { fwmark: s.fwmark } : {}),
    protocol: s.protocol,
    lbAlgo: s.lb_algo,
    ...(s.sched_flags !== undefined ? { schedFlags: [...s.sched_flags] } : {}),
    ...(s.ops ? { ops: true } : {}),
    lbKind: s.lb_kind,
    ...(s.tunnel !== undefined ? { tunnel: { type: s.tunnel.type, ...(s.tunnel.port !== undefined ? { port: s.tunnel.port } : {}), ...(s.tunnel.checksum !== undefined ? { checksum: s.tunnel.checksum } : {}) } } : {}),
    ...(persistence !== undefined ? { persistenceTimeout: persistence } : {}),
    ...(s.persistence_granularity !== undefined ? { persistenceGranularity: s.persistence_granularity } : {}),
    ...(s.delay_loop !== undefined ? { delayLoop: s.delay_loop } : {}),
    ...(s.virtualhost !== undefined ? { virtualhost: s.virtualhost } : {}),
    ...(s.sorry_server ? { sorryServer: { address: s.sorry_server.address, ...(s.sorry_server.port !== undefined ? { port: s.sorry_server.port } : {}) } } : {}),
    ...(s.nat_gateway !== undefined ? { natGateway: s.nat_gateway } : {}),
    ...(s.quorum !== undefined ? { quorum: s.quorum } : {}),
    ...(s.hysteresis !== undefined ? { hysteresis: s.hysteresis } : {}),
    ...(s.quorum_up !== undefined ? { quorumUp: s.quorum_up } : {}),
    ...(s.quorum_down !== undefined ? { quorumDown: s.quorum_down } : {}),
    ...(s.smtp_alert !== undefined ? { smtpAlert: s.smtp_alert } : {}),
    realServers,
  };
}
