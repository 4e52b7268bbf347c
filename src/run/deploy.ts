// `lvsctl deploy`: the whole cluster in one run (one SSH connection per host): the real-server
// bootstrap (playbooks/bootstrap.yml) first, then the directors (playbooks/director.yml).
//
// The director plays set up keepalived from the distribution's packages. A cluster whose backend
// is lvsd, or whose keepalived is built from source, is not set up by them: those plays are left
// out and the caller is told why (a note, not a failure: the real servers still get what they need).
import type { Cluster } from "../inventory/model.js";
import { builtinPlaybookPath } from "./bootstrap.js";
import { runPlaybook, type RunPlaybookParams, type RunResult } from "./executor.js";
import { loadPlaybook, type Playbook } from "./playbook.js";

export interface DeployPlan {
  playbook: Playbook;
  /** What deploy leaves out, and why, for the user. */
  notes: string[];
}

/** Why the director plays cannot run on this cluster, or undefined when they can. */
export function directorPlaysUnsupported(cluster: Cluster): string | undefined {
  if (cluster.directors.length === 0) return undefined;
  if (cluster.backend === "lvsd")
    return "the directors are left out: deploy sets up directors with the keepalived backend only (director.backend: lvsd is not built into deploy yet); install lvsd on them by hand, or set director.backend: keepalived";
  if (cluster.keepalived.from === "source")
    return "the directors are left out: deploy installs keepalived from packages only (director.keepalived.from: source is not built yet); build keepalived on them by hand, or set from: package";
  return undefined;
}

/** The real-server plays, then (when the cluster's directors can be set up) the director plays. */
export function deployPlaybook(cluster: Cluster, paths: { bootstrap?: string; director?: string } = {}): DeployPlan {
  const rs = loadPlaybook(paths.bootstrap ?? builtinPlaybookPath("bootstrap"));
  const unsupported = directorPlaysUnsupported(cluster);
  if (unsupported) return { playbook: rs, notes: [unsupported] };
  const ds = loadPlaybook(paths.director ?? builtinPlaybookPath("director"));
  return { playbook: { file: `${rs.file} + ${ds.file}`, baseDir: rs.baseDir, plays: [...rs.plays, ...ds.plays] }, notes: [] };
}

export type DeployParams = Omit<RunPlaybookParams, "cluster" | "playbook"> & { paths?: { bootstrap?: string; director?: string } };

/** Run the whole deploy on the cluster; the notes say what was left out. */
export async function deploy(cluster: Cluster, params: DeployParams): Promise<RunResult & { notes: string[] }> {
  const { playbook, notes } = deployPlaybook(cluster, params.paths);
  const result = await runPlaybook({ ...params, cluster, playbook });
  return { ...result, notes };
}
