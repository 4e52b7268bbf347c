// `lvsctl deploy`: the whole cluster in one run (one SSH connection per host): the real-server
// bootstrap (playbooks/bootstrap.yml) first, then the directors by their backend:
// playbooks/director.yml (keepalived from the distribution's packages, or built from source on
// each director) or playbooks/director-lvsd.yml (lvsd: the bundle built on the controller, on the
// director's Node).
//
// For a source build the controller has the tarball first (a local file, or a URL fetched once and
// cached: src/run/tarball.ts), before any host is contacted; the director plays get its local path
// as the var `keepalived_tarball`.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { LvsctlError } from "../errors/index.js";
import type { Cluster } from "../inventory/model.js";
import { bundleAbiProblem, LVSD_ADDON, LVSD_BUNDLE_FILES, LVSD_BUNDLE_MANIFEST } from "../plan/ops/index.js";
import { builtinPlaybookPath, defaultLvsdBundleDir } from "./bootstrap.js";
import { runPlaybook, type RunPlaybookParams, type RunResult } from "./executor.js";
import { loadPlaybook, type Playbook } from "./playbook.js";
import { defaultCacheDir, isUrl, localTarball, obtainTarball, shownUrl, type LocalTarball, type TarballDeps } from "./tarball.js";

export interface DeployPlan {
  playbook: Playbook;
  /** What deploy leaves out, and why, for the user. */
  notes: string[];
  /** Extra vars the director plays need (lvsd: `lvsd_bundle`, the local bundle directory; a source build: `keepalived_tarball`). */
  vars: Record<string, unknown>;
}

export interface DeployPaths {
  bootstrap?: string;
  /** The keepalived director playbook. */
  director?: string;
  /** The lvsd director playbook. */
  directorLvsd?: string;
  /** lvsd's bundle on the controller (scripts/build-lvsd.mjs --outdir); default dist/lvsd. */
  lvsdBundle?: string;
}

/** Why the director plays cannot run on this cluster, or undefined when they can (today they always can). */
export function directorPlaysUnsupported(_cluster: Cluster): string | undefined {
  return undefined;
}

/** Whether the director plays will build keepalived, so the controller must have its tarball first. */
export function needsTarball(cluster: Cluster): boolean {
  return cluster.directors.length > 0 && cluster.backend === "keepalived" && cluster.keepalived.from === "source" && cluster.keepalived.tarball !== undefined;
}

/**
 * The source build's tarball on the controller (read, or fetched once into the cache), with a
 * note saying where it came from; undefined when the cluster builds nothing.
 */
export async function keepalivedTarball(cluster: Cluster, deps: Partial<TarballDeps> = {}, opts: { check?: boolean } = {}): Promise<{ tarball?: LocalTarball; note: string } | undefined> {
  if (!needsTarball(cluster)) return undefined;
  const k = cluster.keepalived;
  const spec = { tarball: k.tarball!, ...(k.sha256 !== undefined ? { sha256: k.sha256 } : {}) };
  const tdeps = { baseDir: dirname(cluster.source), ...deps };
  // --check changes nothing, on the hosts or here: a URL not cached yet is not downloaded.
  if (opts.check && isUrl(k.tarball!) && localTarball(spec, tdeps) === undefined) {
    const sum = k.sha256 !== undefined ? `, checked against sha256 ${k.sha256}` : "";
    return { note: `keepalived ${k.version ?? ""} source: --check downloads nothing; deploy would fetch ${shownUrl(k.tarball!)} once into ${tdeps.cacheDir ?? defaultCacheDir(tdeps.env)}${sum}, then upload it to the directors that build` };
  }
  const tarball = await obtainTarball(spec, tdeps);
  const how = tarball.via === "download" ? `downloaded ${shownUrl(k.tarball!)} into ${tarball.path}` : tarball.via === "cache" ? `${shownUrl(k.tarball!)} from the cache (${tarball.path})` : tarball.path;
  const checked = k.sha256 !== undefined ? "matches the inventory's sha256" : "no sha256 in the inventory to check it against";
  return { tarball, note: `keepalived ${k.version ?? ""} source: ${how}, sha256 ${tarball.sha256} (${checked})` };
}

/**
 * The lvsd bundle directory, checked before anything connects: every file the director plays
 * upload must be there (deploy never builds it: the build needs the source checkout's tools), and
 * its addon must be of the ABI its lvsd expects (one that is not makes lvsd crash-loop on every
 * director: refused here, before the first director is touched).
 */
export function lvsdBundleDir(dir?: string): string {
  const d = resolve(dir ?? defaultLvsdBundleDir());
  const missing = LVSD_BUNDLE_FILES.filter((f) => !existsSync(join(d, f)));
  const rebuild =
    dir === undefined
      ? "rebuild the addon, then the bundle, on this controller: `npm run build:native && npm run build:lvsd` (it goes to dist/lvsd), or give --lvsd-bundle DIR"
      : `rebuild the addon, then the bundle there: \`npm run build:native && node scripts/build-lvsd.mjs --outdir ${d}\``;
  if (missing.length)
    throw new LvsctlError("LVS758", `lvsd's bundle in ${d} lacks ${missing.join(", ")}: deploy uploads it to the directors (director.backend: lvsd)`, {
      hint: dir === undefined ? "build it on this controller: `npm run build:native && npm run build:lvsd` (it goes to dist/lvsd), or give --lvsd-bundle DIR" : "build it there with `node scripts/build-lvsd.mjs --outdir DIR` (after `npm run build:native`)",
    });
  const manifest = join(d, LVSD_BUNDLE_MANIFEST);
  const abi = bundleAbiProblem(d, existsSync(manifest) ? readFileSync(manifest, "utf8") : undefined, readFileSync(join(d, LVSD_ADDON)), rebuild);
  if (abi) throw new LvsctlError("LVS759", abi.message, { hint: abi.hint });
  return d;
}

/**
 * The real-server plays, then (when the cluster's directors can be set up) the director plays of
 * its backend. A source build needs the tarball on the controller first (keepalivedTarball).
 */
export function deployPlaybook(cluster: Cluster, paths: DeployPaths = {}, tarball?: LocalTarball, opts: { check?: boolean } = {}): DeployPlan {
  const rs = loadPlaybook(paths.bootstrap ?? builtinPlaybookPath("bootstrap"));
  const unsupported = directorPlaysUnsupported(cluster);
  if (unsupported) return { playbook: rs, notes: [unsupported], vars: {} };
  const lvsd = cluster.backend === "lvsd";
  const ds = loadPlaybook(lvsd ? (paths.directorLvsd ?? builtinPlaybookPath("director-lvsd")) : (paths.director ?? builtinPlaybookPath("director")));
  if (needsTarball(cluster) && tarball === undefined && !opts.check) throw new Error("deployPlaybook: a source build needs the tarball on the controller first (keepalivedTarball)");
  // Under --check a URL not fetched yet is "": the build task then plans from the inventory's sha256 alone.
  const vars = lvsd && cluster.directors.length > 0 ? { lvsd_bundle: lvsdBundleDir(paths.lvsdBundle) } : tarball ? { keepalived_tarball: tarball.path } : needsTarball(cluster) ? { keepalived_tarball: "" } : {};
  return { playbook: { file: `${rs.file} + ${ds.file}`, baseDir: rs.baseDir, plays: [...rs.plays, ...ds.plays] }, notes: [], vars };
}

/** deployPlaybook, with the source build's tarball had first (its note first among the notes). */
export async function prepareDeploy(cluster: Cluster, opts: { paths?: DeployPaths; tarball?: Partial<TarballDeps>; check?: boolean } = {}): Promise<DeployPlan> {
  const check = opts.check === true;
  const src = await keepalivedTarball(cluster, opts.tarball, { check });
  const plan = deployPlaybook(cluster, opts.paths, src?.tarball, { check });
  return { ...plan, notes: [...(src ? [src.note] : []), ...plan.notes] };
}

export type DeployParams = Omit<RunPlaybookParams, "cluster" | "playbook"> & { paths?: DeployPaths; tarball?: Partial<TarballDeps> };

/** Run the whole deploy on the cluster; the notes say what was left out, and where a source tarball came from. */
export async function deploy(cluster: Cluster, params: DeployParams): Promise<RunResult & { notes: string[] }> {
  const { playbook, notes, vars } = await prepareDeploy(cluster, { ...(params.paths ? { paths: params.paths } : {}), ...(params.tarball ? { tarball: params.tarball } : {}), check: params.options?.check === true });
  const options = { ...params.options, vars: { ...vars, ...(params.options?.vars ?? {}) } };
  const result = await runPlaybook({ ...params, cluster, playbook, options });
  return { ...result, notes };
}
