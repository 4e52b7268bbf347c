// `lvsctl bootstrap`: the built-in real-server playbook (playbooks/bootstrap.yml) run against a
// cluster. playbooks/ ships next to package.json; this file runs as src/run/bootstrap.ts (tsx)
// or dist/src/run/bootstrap.js (tsc), so the folder is found by walking up.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LvsctlError } from "../errors/index.js";
import type { Cluster } from "../inventory/model.js";
import { runPlaybook, type RunPlaybookParams, type RunResult } from "./executor.js";
import { loadPlaybook } from "./playbook.js";

export function builtinPlaybookPath(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, "playbooks", `${name}.yml`);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new LvsctlError("LVS750", `cannot find lvsctl's built-in playbook ${name}.yml`, { hint: "playbooks/ ships next to package.json; reinstall lvsctl or run it from its checkout" });
}

/** Where scripts/build-lvsd.mjs puts lvsd's bundle by default: dist/lvsd beside playbooks/. */
export function defaultLvsdBundleDir(): string {
  return join(dirname(dirname(builtinPlaybookPath("director"))), "dist", "lvsd");
}

export type BootstrapParams = Omit<RunPlaybookParams, "cluster" | "playbook"> & { playbook?: string };

/** Run the real-server bootstrap on the cluster's `realservers` group. */
export function bootstrap(cluster: Cluster, params: BootstrapParams): Promise<RunResult> {
  const playbook = loadPlaybook(params.playbook ?? builtinPlaybookPath("bootstrap"));
  return runPlaybook({ ...params, cluster, playbook });
}
