// `lvsctl deploy`: the whole cluster in one run (one SSH connection per host): the real-server
// bootstrap (playbooks/bootstrap.yml) first, then the directors by their backend:
// playbooks/director.yml (keepalived from the distribution's packages) or
// playbooks/director-lvsd.yml (lvsd: the bundle built on the controller, on the director's Node).
//
// A cluster whose keepalived is built from source is not set up by them: the director plays are
// left out and the caller is told why (a note, not a failure: the real servers still get what
// they need).
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { LvsctlError } from "../errors/index.js";
import type { Cluster } from "../inventory/model.js";
import { LVSD_BUNDLE_FILES } from "../plan/ops/index.js";
import { builtinPlaybookPath, defaultLvsdBundleDir } from "./bootstrap.js";
import { runPlaybook, type RunPlaybookParams, type RunResult } from "./executor.js";
import { loadPlaybook, type Playbook } from "./playbook.js";

export interface DeployPlan {
  playbook: Playbook;
  /** What deploy leaves out, and why, for the user. */
  notes: string[];
  /** Extra vars the director plays need (lvsd: `lvsd_bundle`, the local bundle directory). */
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

/** Why the director plays cannot run on this cluster, or undefined when they can. */
export function directorPlaysUnsupported(cluster: Cluster): string | undefined {
  if (cluster.directors.length === 0) return undefined;
  if (cluster.backend === "keepalived" && cluster.keepalived.from === "source")
    return "the directors are left out: deploy installs keepalived from packages only (director.keepalived.from: source is not built yet); build keepalived on them by hand, or set from: package";
  return undefined;
}

/**
 * The lvsd bundle directory, checked before anything connects: every file the director plays
 * upload must be there (deploy never builds it: the build needs the source checkout's tools).
 */
export function lvsdBundleDir(dir?: string): string {
  const d = resolve(dir ?? defaultLvsdBundleDir());
  const missing = LVSD_BUNDLE_FILES.filter((f) => !existsSync(join(d, f)));
  if (missing.length)
    throw new LvsctlError("LVS758", `lvsd's bundle in ${d} lacks ${missing.join(", ")}: deploy uploads it to the directors (director.backend: lvsd)`, {
      hint: dir === undefined ? "build it on this controller: `npm run build:native && npm run build:lvsd` (it goes to dist/lvsd), or give --lvsd-bundle DIR" : "build it there with `node scripts/build-lvsd.mjs --outdir DIR` (after `npm run build:native`)",
    });
  return d;
}

/** The real-server plays, then (when the cluster's directors can be set up) the director plays of its backend. */
export function deployPlaybook(cluster: Cluster, paths: DeployPaths = {}): DeployPlan {
  const rs = loadPlaybook(paths.bootstrap ?? builtinPlaybookPath("bootstrap"));
  const unsupported = directorPlaysUnsupported(cluster);
  if (unsupported) return { playbook: rs, notes: [unsupported], vars: {} };
  const lvsd = cluster.backend === "lvsd";
  const ds = loadPlaybook(lvsd ? (paths.directorLvsd ?? builtinPlaybookPath("director-lvsd")) : (paths.director ?? builtinPlaybookPath("director")));
  const vars = lvsd && cluster.directors.length > 0 ? { lvsd_bundle: lvsdBundleDir(paths.lvsdBundle) } : {};
  return { playbook: { file: `${rs.file} + ${ds.file}`, baseDir: rs.baseDir, plays: [...rs.plays, ...ds.plays] }, notes: [], vars };
}

export type DeployParams = Omit<RunPlaybookParams, "cluster" | "playbook"> & { paths?: DeployPaths };

/** Run the whole deploy on the cluster; the notes say what was left out. */
export async function deploy(cluster: Cluster, params: DeployParams): Promise<RunResult & { notes: string[] }> {
  const { playbook, notes, vars } = deployPlaybook(cluster, params.paths);
  const options = { ...params.options, vars: { ...vars, ...(params.options?.vars ?? {}) } };
  const result = await runPlaybook({ ...params, cluster, playbook, options });
  return { ...result, notes };
}
