// Variables a playbook can use in `when:` and `{{ }}`: the host's inventory vars, values derived
// from the cluster for this host (the VIPs it serves, ...), and values derived from its facts
// (the interface facing the directors, ...). Fact-derived names are known only after facts are
// gathered; while computing WHICH facts to gather they are wildcards (`*`), so a sysctl key
// `net.ipv4.conf.{{ director_iface }}.arp_ignore` asks for every interface's value.
import { isIP } from "node:net";
import type { Cluster } from "../inventory/model.js";
import type { HostFacts } from "../plan/facts.js";
import { WILDCARD, type Vars } from "../plan/expr.js";
import { keepalivedPaths, lvsdInstallDir, lvsdNode, natGatewayOf, realServerVips, sysctlIfName, usesIpvs } from "../render/index.js";

export interface RsVip {
  address: string;
  prefix: number;
  dev: string;
}

/**
 * The VIPs a real server holds on lo, as the address task wants them: src/render's list (the
 * one lvs-rs-vip.service restores), so the live addresses and the unit cannot disagree.
 */
export function rsVips(cluster: Cluster, hostName: string): RsVip[] {
  const host = cluster.hosts[hostName];
  if (!host) return [];
  return realServerVips(cluster, host).vips.map((v) => ({ address: v.toLowerCase(), prefix: isIP(v) === 6 ? 128 : 32, dev: "lo" }));
}

/** The vars derived from the cluster for one host (no facts needed). */
export function clusterVars(cluster: Cluster, hostName: string): Vars {
  const host = cluster.hosts[hostName];
  const directorAddresses = cluster.directors.map((d) => d.host.address).filter((a) => isIP(a) !== 0);
  const directorVips = cluster.directors.flatMap((d) => d.instances.flatMap((i) => i.vips.map((v) => v.address)));
  // NAT services this host serves, as a real server or as the sorry server, and their gateway.
  const nat = host ? natGatewayOf(cluster, host) : { services: [] };
  const keepalivedConf = keepalivedPaths(cluster).config;
  return {
    inventory_hostname: hostName,
    host_address: host?.address ?? "",
    group_names: host?.groups ?? [],
    rs_vips: rsVips(cluster, hostName),
    rs_nat_services: nat.services,
    rs_nat_gateway: nat.gateway ?? "",
    director_addresses: directorAddresses,
    director_gateways: [...new Set([...directorAddresses, ...directorVips])],
    first_director: directorAddresses[0] ?? "",
    // Where keepalived.conf goes (the package's /etc/keepalived, or the source build's sysconfdir).
    keepalived_conf: keepalivedConf,
    keepalived_conf_dir: keepalivedConf.replace(/\/[^/]*$/, ""),
    // lvsd (director.lvsd): where its bundle goes and the Node runtime that runs it. The local
    // bundle (`lvsd_bundle`) is an extra var deploy gives (--lvsd-bundle, else dist/lvsd).
    lvsd_install_dir: lvsdInstallDir(cluster),
    lvsd_node: lvsdNode(cluster),
    // Whether the directors program IPVS: false for a VRRP-only cluster (no virtual service), whose
    // directors load no IPVS module (a container or a kernel without IPVS can run them).
    uses_ipvs: usesIpvs(cluster),
    // How keepalived is installed (director.keepalived); a source build's tarball on the
    // controller (`keepalived_tarball`) is an extra var deploy gives once it has the file (src/run/deploy.ts).
    keepalived_from: cluster.keepalived.from,
    keepalived_version: cluster.keepalived.version ?? "",
    keepalived_prefix: cluster.keepalived.prefix,
    keepalived_sysconfdir: cluster.keepalived.sysconfdir,
    keepalived_configure_options: cluster.keepalived.configureOptions,
    // The inventory's sha256 of the tarball, or "": under --check a URL not fetched yet is planned from it.
    keepalived_sha256: cluster.keepalived.sha256 ?? "",
    // Host vars the renderers read too (src/render/hostfiles.ts HOST_VARS); defaults here.
    lvs_vip_before: [],
  };
}

/** The vars derived from facts. */
export function factVars(facts: HostFacts, cv: Vars): Vars {
  const first = typeof cv.first_director === "string" ? cv.first_director : "";
  const route = first ? facts.routes[first] : undefined;
  // A `local` route means the address is this host's own: there is no interface facing it.
  const iface = route && route.type === undefined && route.dev && route.dev !== "lo" ? route.dev : "";
  const def = facts.defaultRoutes.find((r) => r.type === undefined);
  // The `lvs_interface` host var wins over what the route says.
  const rsIface = typeof cv.lvs_interface === "string" && cv.lvs_interface ? cv.lvs_interface : iface;
  return {
    facts,
    os_family: facts.os.family,
    director_iface: iface,
    director_iface_sysctl: sysctlIfName(iface),
    rs_iface: rsIface,
    rs_iface_sysctl: sysctlIfName(rsIface),
    default_gateway: def?.via ?? "",
    // The units asked about that were running before the play (handlers: reload only what ran).
    active_units: Object.entries(facts.units)
      .filter(([, u]) => u.active === "active")
      .map(([name]) => name),
  };
}

/** The same names, as wildcards, for computing what facts to gather. */
export function wildcardFactVars(): Vars {
  return { facts: WILDCARD, os_family: WILDCARD, director_iface: WILDCARD, director_iface_sysctl: WILDCARD, rs_iface: WILDCARD, rs_iface_sysctl: WILDCARD, default_gateway: WILDCARD, active_units: WILDCARD };
}

/** Addresses whose route the facts should include (for director_iface). */
export function routeProbes(cv: Vars): string[] {
  return typeof cv.first_director === "string" && cv.first_director ? [cv.first_director] : [];
}
