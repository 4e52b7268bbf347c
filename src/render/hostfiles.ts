// systemd units, sysctl and modules-load files for directors and real servers: views prepared
// here, laid out by the matching templates/*.hbs.
import type { Cluster, ResolvedDirector, ResolvedHost, ResolvedService } from "../inventory/model.js";
import { LvsctlError } from "../errors/index.js";
import { directorSysctls } from "../inventory/sysctls.js";
import { canonicalIp, natGateway } from "../inventory/topology.js";
import { interfaceProblem } from "../inventory/text.js";
import { findDirector, isIpv6, type RenderOptions } from "./common.js";
import { modulesValue, sysctlValue, unitValue } from "./guard.js";
import { renderTemplate } from "./handlebars.js";

/** Where things live on the target hosts. */
export const PATHS = {
  keepalivedUnit: "/etc/systemd/system/keepalived.service",
  lvsdConfig: "/etc/lvsd/lvsd.json",
  lvsdUnit: "/etc/systemd/system/lvsd.service",
  /** Debian's nodejs package (the default of director.lvsd.node); lvsd's bundle targets Node 18 (Debian 12). */
  node: "/usr/bin/node",
  directorSysctl: "/etc/sysctl.d/90-lvs-director.conf",
  directorModules: "/etc/modules-load.d/lvs.conf",
  realServerSysctl: "/etc/sysctl.d/90-lvs-realserver.conf",
  realServerUnit: "/etc/systemd/system/lvs-rs-vip.service",
  /** NAT: the default route through the directors' gateway VIP, put back on boot. */
  realServerGatewayUnit: "/etc/systemd/system/lvs-rs-gateway.service",
  /** TUN: ipip loaded at boot, before systemd-sysctl, so tunl0's rp_filter line applies. */
  realServerModules: "/etc/modules-load.d/lvs-realserver.conf",
} as const;

/**
 * Host vars the real-server files read:
 * - `lvs_interface`: the interface facing the directors (gets its own arp_ignore/arp_announce
 *   lines; `all` already covers it, since the kernel takes the larger value). `lvsctl bootstrap`
 *   passes the interface it learns from facts (RenderOptions.realServerInterface) when this is
 *   unset, so `lvsctl render` shows those two lines only when the var is set;
 * - `lvs_vip_before`: units that listen on the VIPs (the VIP unit is ordered before them).
 */
export const HOST_VARS = { interface: "lvs_interface", before: "lvs_vip_before" } as const;

export interface KeepalivedPaths {
  binary: string;
  config: string;
  fromPackage: boolean;
}

/**
 * Debian's package: /usr/sbin and /etc. A source build: the active build's link under the prefix
 * (`<prefix>/keepalived` -> `keepalived-<version>-<key>`, src/plan/ops/build.ts lays them out), so
 * the unit never changes when another build becomes active; the config under --sysconfdir.
 */
export function keepalivedPaths(cluster: Cluster): KeepalivedPaths {
  const k = cluster.keepalived;
  if (k.from === "package") return { binary: "/usr/sbin/keepalived", config: "/etc/keepalived/keepalived.conf", fromPackage: true };
  const strip = (p: string) => p.replace(/\/+$/, "");
  return { binary: `${strip(k.prefix)}/keepalived/sbin/keepalived`, config: `${strip(k.sysconfdir)}/keepalived/keepalived.conf`, fromPackage: false };
}

export function renderKeepalivedUnit(cluster: Cluster, director: string): string {
  findDirector(cluster, director);
  const p = keepalivedPaths(cluster);
  return renderTemplate("keepalived.service", {
    director: unitValue("name", director, "the director's name"),
    fromPackage: p.fromPackage,
    binary: unitValue("path", p.binary, "keepalived's binary (from director.keepalived.prefix)"),
    configPath: unitValue("path", p.config, "keepalived.conf's path (from director.keepalived.sysconfdir)"),
    prefix: unitValue("path", cluster.keepalived.prefix, "director.keepalived.prefix"),
  });
}

/** lvsd's install_dir without a trailing slash: the unit's ExecStart and the config check run its lvsd.cjs. */
export function lvsdInstallDir(cluster: Cluster): string {
  return unitValue("path", cluster.lvsd.installDir, "director.lvsd.install_dir").replace(/\/+$/, "");
}

/** The Node runtime that runs lvsd (director.lvsd.node): the unit's ExecStart and the config check. */
export function lvsdNode(cluster: Cluster): string {
  return unitValue("path", cluster.lvsd.node, "director.lvsd.node");
}

export function renderLvsdUnit(cluster: Cluster, director: string): string {
  findDirector(cluster, director);
  return renderTemplate("lvsd.service", {
    director: unitValue("name", director, "the director's name"),
    node: lvsdNode(cluster),
    installDir: lvsdInstallDir(cluster),
    configPath: PATHS.lvsdConfig,
  });
}

/**
 * The director's sysctls (src/inventory/sysctls.ts decides them) as sysctl.d(5) lines: IPVS keys
 * exist only while ip_vs is loaded, and a leading "-" makes a missing key not an error.
 */
function directorSysctlLines(cluster: Cluster, d: ResolvedDirector): { key: string; value: string; comment?: string }[] {
  const interfaces = d.instances.flatMap((i) => [i.interface, ...[...i.vips, ...(i.excludedVips ?? [])].flatMap((v) => (v.dev !== undefined ? [v.dev] : []))]);
  return directorSysctls(cluster, interfaces).map((s) => ({
    key: `${s.optional || s.key.startsWith("net.ipv4.vs.") ? "-" : ""}${sysctlValue("sysctlKey", s.key, "a director.sysctls key")}`,
    value: sysctlValue("sysctlValue", s.value, `the value of director.sysctls ${s.key}`),
    ...(s.why !== undefined ? { comment: s.why } : {}),
  }));
}

/** Whether the directors program IPVS at all: a cluster without virtual services only moves VIPs. */
export function usesIpvs(cluster: Pick<Cluster, "services">): boolean {
  return cluster.services.length > 0;
}

export function renderDirectorSysctl(cluster: Cluster, director: string): string {
  const d = findDirector(cluster, director);
  return renderTemplate("lvs-director.sysctl.conf", {
    director: sysctlValue("name", director, "the director's name"),
    ipvs: usesIpvs(cluster),
    modulesPath: PATHS.directorModules,
    sysctls: directorSysctlLines(cluster, d),
  });
}

/**
 * ip_vs and one ip_vs_<scheduler> per scheduler in use (kernel module names); none for a
 * VRRP-only cluster (no virtual service: keepalived only moves VIPs, and needs no IPVS).
 */
export function directorModules(cluster: Cluster): string[] {
  if (!usesIpvs(cluster)) return [];
  return ["ip_vs", ...[...new Set(cluster.services.map((s) => s.lbAlgo))].sort().map((a) => `ip_vs_${a}`)];
}

export function renderDirectorModules(cluster: Cluster, director: string): string {
  findDirector(cluster, director);
  return renderTemplate("lvs-modules.conf", {
    director: modulesValue("name", director, "the director's name"),
    modules: directorModules(cluster).map((m) => modulesValue("word", m, "a kernel module name")),
  });
}

/**
 * Services this host serves: as a real server (by inventory host name, else by address) or as
 * the sorry server (by address), which in DR and TUN needs the VIP on lo just the same.
 */
export function servicesOf(cluster: Cluster, host: ResolvedHost): ResolvedService[] {
  return cluster.services.filter(
    (s) =>
      s.realServers.some((r) => (r.host !== undefined ? r.host === host.name : r.address === host.address)) ||
      s.sorryServer?.address === host.address,
  );
}

export interface RealServerVips {
  vips: string[];
  tunnel: boolean;
}

/**
 * The VIPs a real server must hold on lo: those of its DR and TUN services (NAT real servers are
 * addressed directly and need none). A fwmark service has no VIP of its own (a firewall rule
 * marks traffic to any address), so for it every VRRP VIP of the cluster is taken, in the
 * service's address family when the real server's address tells it.
 */
export function realServerVips(cluster: Cluster, host: ResolvedHost): RealServerVips {
  const out: string[] = [];
  let tunnel = false;
  const allVrrpVips = cluster.directors.flatMap((d) => d.instances.flatMap((i) => i.vips.map((v) => v.address)));
  for (const s of servicesOf(cluster, host)) {
    if (s.lbKind === "NAT") continue;
    if (s.lbKind === "TUN") tunnel = true;
    if (s.vip !== undefined) out.push(s.vip);
    else {
      const rs = s.realServers.find((r) => (r.host !== undefined ? r.host === host.name : r.address === host.address));
      const v6 = isIpv6(rs?.address ?? s.sorryServer?.address ?? host.address);
      out.push(...allVrrpVips.filter((v) => isIpv6(v) === v6));
    }
  }
  return { vips: [...new Set(out)], tunnel };
}

export interface RealServerGateway {
  /** The gateway VIP, when the inventory names one or one can be inferred (natGateway). */
  gateway?: string;
  /** The NAT services this host serves (as real server or sorry server). */
  services: string[];
}

/**
 * The default route a NAT real server needs: through the gateway its NAT services name (or the
 * one VRRP VIP on its network). validate.ts refuses two different gateways for one host; should
 * they still differ, the first service's wins.
 */
export function natGatewayOf(cluster: Cluster, host: ResolvedHost): RealServerGateway {
  const nat = servicesOf(cluster, host).filter((s) => s.lbKind === "NAT");
  const vips = cluster.directors.flatMap((d) => d.instances.flatMap((i) => i.vips));
  const serviceVips = new Set(cluster.services.flatMap((s) => (s.vip !== undefined ? [canonicalIp(s.vip)] : [])));
  let gateway: string | undefined;
  for (const s of nat) {
    const rs = s.realServers.find((r) => (r.host !== undefined ? r.host === host.name : r.address === host.address));
    gateway ??= natGateway(s.natGateway, rs?.address ?? host.address, vips, serviceVips)?.gateway;
  }
  return { ...(gateway !== undefined ? { gateway } : {}), services: nat.map((s) => s.name) };
}

export function renderRealServerGatewayUnit(cluster: Cluster, host: ResolvedHost, gateway: string): string {
  return renderTemplate("lvs-rs-gateway.service", {
    host: unitValue("name", host.name, "the host's name"),
    gateway: unitValue("word", gateway, "the NAT gateway"),
    v6: isIpv6(gateway),
    services: natGatewayOf(cluster, host).services.map((n) => unitValue("kaComment", n, "a virtual service name")).join(", "),
  });
}

export function renderRealServerModules(host: ResolvedHost): string {
  return renderTemplate("lvs-realserver-modules.conf", { host: modulesValue("name", host.name, "the host's name") });
}

function hostVar(host: ResolvedHost, name: string): unknown {
  return host.vars[name];
}

/** Interface names in sysctl keys write a dot as `/` (sysctl(8), sysctl.d(5)): eth0.100 -> eth0/100. */
export function sysctlIfName(name: string): string {
  return name.replace(/\./g, "/");
}

/**
 * The interface facing the directors: the caller's (from facts), else the host var. A name that
 * could not be a Linux interface (IFNAMSIZ 16 with the NUL, no `/` or blanks) is refused before
 * it reaches a sysctl key; `*` is allowed as the glob sysctl.d(5) knows.
 */
export function realServerInterface(host: ResolvedHost, opts: Pick<RenderOptions, "realServerInterface">): string | undefined {
  const given = opts.realServerInterface ?? hostVar(host, HOST_VARS.interface);
  if (given === undefined || given === "") return undefined;
  const problem = typeof given === "string" ? interfaceProblem(given, { glob: true }) : { message: `is a ${typeof given}`, hint: "" };
  if (problem) {
    throw new LvsctlError("LVS709", `${host.name}: ${JSON.stringify(given)} is not an interface name (${HOST_VARS.interface}): it ${problem.message}`, {
      hint: "give the interface facing the directors, e.g. lvs_interface: eth0 (at most 15 characters: letters, digits, _ . -)",
    });
  }
  return given as string;
}

export function renderRealServerSysctl(cluster: Cluster, host: ResolvedHost, opts: Pick<RenderOptions, "realServerInterface"> = {}): string {
  const { tunnel } = realServerVips(cluster, host);
  const iface = realServerInterface(host, opts);
  const interfaces = ["all", "default"];
  if (iface !== undefined && !interfaces.includes(iface)) interfaces.push(sysctlIfName(iface));
  for (const i of interfaces) if (i !== "*") sysctlValue("sysctlKey", `net.ipv4.conf.${i}.arp_ignore`, "the real server's interface in a sysctl key");
  return renderTemplate("lvs-realserver.sysctl.conf", { host: sysctlValue("name", host.name, "the host's name"), interfaces, tunnel });
}

export function renderRealServerUnit(cluster: Cluster, host: ResolvedHost): string {
  const { vips, tunnel } = realServerVips(cluster, host);
  const before = hostVar(host, HOST_VARS.before);
  const beforeUnits = (Array.isArray(before) ? before : typeof before === "string" ? [before] : []).filter(
    (u): u is string => typeof u === "string" && /^[\w@.:][\w@.:-]*$/.test(u),
  );
  return renderTemplate("lvs-rs-vip.service", {
    host: unitValue("name", host.name, "the host's name"),
    sysctlPath: PATHS.realServerSysctl,
    before: beforeUnits.map((u) => unitValue("word", u, `a unit in ${HOST_VARS.before}`)),
    tunnel,
    // A host address on lo (/32, /128): a wider prefix would claim a whole subnet as local.
    vips: vips.map((v) => ({ address: unitValue("word", v, "a VIP"), prefix: isIpv6(v) ? "128" : "32", v6: isIpv6(v) })),
  });
}
