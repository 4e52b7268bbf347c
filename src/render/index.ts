// Public face of the renderers: the files each host of a cluster gets, rendered locally from the
// resolved model (pure apart from reading templates/ once). Uploading, checksums and validate
// commands are the executor's business; this module only says what each file is.
import { NEW_FILE, type ValidateArgv } from "../command/index.js";
import { LvsctlError } from "../errors/index.js";
import type { Cluster, ResolvedHost } from "../inventory/model.js";
import type { SecretRef } from "../inventory/schema.js";
import { findDirector, type RenderOptions } from "./common.js";
import {
  PATHS,
  keepalivedPaths,
  lvsdInstallDir,
  lvsdNode,
  realServerVips,
  renderDirectorModules,
  usesIpvs,
  renderDirectorSysctl,
  renderKeepalivedUnit,
  renderLvsdUnit,
  natGatewayOf,
  renderRealServerGatewayUnit,
  renderRealServerModules,
  renderRealServerSysctl,
  renderRealServerUnit,
  servicesOf,
} from "./hostfiles.js";
import { renderKeepalivedConf } from "./keepalived.js";
import { renderLvsdJson } from "./lvsd.js";

export type { RenderOptions } from "./common.js";
/** How keepalived and lvsd split a script line into argv: text.ts states it beside the rule for scripts. */
export { splitScript } from "../inventory/text.js";
export { PATHS, HOST_VARS, keepalivedPaths, lvsdInstallDir, lvsdNode, directorModules, usesIpvs, realServerVips, realServerInterface, servicesOf, sysctlIfName, natGatewayOf, type RealServerVips, type RealServerGateway } from "./hostfiles.js";
export { renderKeepalivedConf } from "./keepalived.js";
/** templates/<name>.hbs with a prepared view (noEscape, strict): for playbook `template` tasks. */
export { renderTemplate, templatesDir } from "./handlebars.js";
export { toLvsdConfig, renderLvsdJson, stableJson } from "./lvsd.js";
/** One masking for rendered files and run output alike: src/secrets owns it. */
export { maskSecrets } from "../secrets/index.js";

export interface RenderedFile {
  /** Absolute path on the target. */
  path: string;
  content: string;
  mode: number;
  owner?: string;
  /**
   * An argv run on the target against the new file before it replaces the old one; the word "%s"
   * (NEW_FILE) is its path. Words, never a shell line: a prefix or install_dir is one word.
   */
  validate?: ValidateArgv;
  /** Contains a secret: diffs and printed output must mask it. */
  secret?: boolean;
  /** What the run should tell the user about this file (shown as the task's warnings). */
  warnings?: string[];
}

function secretInDirector(cluster: Cluster, director: string): boolean {
  return findDirector(cluster, director).instances.some((i) => i.authPass !== undefined);
}

/**
 * A director's files: keepalived.conf + keepalived.service, or lvsd.json + lvsd.service (by
 * `opts.backend`, else the cluster's backend), then the sysctl baseline and the IPVS modules.
 */
export function renderDirector(cluster: Cluster, director: string, opts: RenderOptions): RenderedFile[] {
  const backend = opts.backend ?? cluster.backend;
  const secret = secretInDirector(cluster, director);
  const files: RenderedFile[] = [];
  if (backend === "keepalived") {
    const k = keepalivedPaths(cluster);
    files.push(
      { path: k.config, content: renderKeepalivedConf(cluster, director, opts), mode: secret ? 0o600 : 0o644, owner: "root", validate: [k.binary, "-t", "-f", NEW_FILE], secret },
      { path: PATHS.keepalivedUnit, content: renderKeepalivedUnit(cluster, director), mode: 0o644, owner: "root" },
    );
  } else {
    files.push(
      {
        path: PATHS.lvsdConfig,
        content: renderLvsdJson(cluster, director, opts),
        mode: secret ? 0o600 : 0o644,
        owner: "root",
        // lvsd's own check: the same schema plus what this lvsd version cannot run yet.
        validate: [lvsdNode(cluster), `${lvsdInstallDir(cluster)}/lvsd.cjs`, "--config", NEW_FILE, "--check"],
        secret,
      },
      { path: PATHS.lvsdUnit, content: renderLvsdUnit(cluster, director), mode: 0o644, owner: "root" },
    );
  }
  files.push({ path: PATHS.directorSysctl, content: renderDirectorSysctl(cluster, director), mode: 0o644, owner: "root" });
  // A VRRP-only cluster (no virtual service) loads no IPVS module.
  if (usesIpvs(cluster)) files.push({ path: PATHS.directorModules, content: renderDirectorModules(cluster, director), mode: 0o644, owner: "root" });
  return files;
}

function hostOf(cluster: Cluster, name: string): ResolvedHost {
  const h = cluster.hosts[name];
  if (!h) {
    throw new LvsctlError("LVS706", `no host named ${name} in ${cluster.source}`, {
      hint: `hosts are: ${Object.keys(cluster.hosts).join(", ") || "(none)"}`,
    });
  }
  return h;
}

/**
 * A real server's files: for DR and TUN services the ARP sysctls and the unit that puts the VIPs
 * on lo (TUN also loads ipip at boot); for NAT services the unit that routes replies through the
 * directors' gateway VIP. A host that serves nothing gets none.
 */
export function renderRealServer(cluster: Cluster, host: string, opts: RenderOptions): RenderedFile[] {
  const h = hostOf(cluster, host);
  if (servicesOf(cluster, h).length === 0) return [];
  const files: RenderedFile[] = [];
  const { vips, tunnel } = realServerVips(cluster, h);
  if (vips.length > 0) {
    files.push(
      { path: PATHS.realServerSysctl, content: renderRealServerSysctl(cluster, h, opts), mode: 0o644, owner: "root" },
      { path: PATHS.realServerUnit, content: renderRealServerUnit(cluster, h), mode: 0o644, owner: "root" },
    );
    if (tunnel) files.push({ path: PATHS.realServerModules, content: renderRealServerModules(h), mode: 0o644, owner: "root" });
  }
  const { gateway } = natGatewayOf(cluster, h);
  if (gateway !== undefined) files.push({ path: PATHS.realServerGatewayUnit, content: renderRealServerGatewayUnit(cluster, h, gateway), mode: 0o644, owner: "root" });
  return files;
}

/** Every file one host gets, by its roles (a host with neither role gets none). */
export function renderHost(cluster: Cluster, host: string, opts: RenderOptions): RenderedFile[] {
  hostOf(cluster, host);
  const files: RenderedFile[] = [];
  if (cluster.directors.some((d) => d.host.name === host)) files.push(...renderDirector(cluster, host, opts));
  // renderRealServer gives [] to a host that serves nothing.
  files.push(...renderRealServer(cluster, host, opts));
  return files;
}

/** Every host of the cluster (in inventory order), each with its files; hosts without files map to []. */
export function renderAll(cluster: Cluster, opts: RenderOptions): Map<string, RenderedFile[]> {
  const out = new Map<string, RenderedFile[]>();
  for (const name of Object.keys(cluster.hosts)) out.set(name, renderHost(cluster, name, opts));
  return out;
}

/** Every secret value the director files of this cluster contain, resolved with `resolveSecret`. */
export function secretValues(cluster: Cluster, resolveSecret: (ref: SecretRef) => string): string[] {
  const refs = cluster.directors.flatMap((d) => d.instances.flatMap((i) => (i.authPass !== undefined ? [i.authPass] : [])));
  return [...new Set(refs.map(resolveSecret))];
}

/** A resolver for plan and diff output: every secret renders as ***. */
export const maskedSecret = (_ref: SecretRef): string => "***";
