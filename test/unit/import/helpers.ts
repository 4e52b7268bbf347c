// Shared by the import tests: render a cluster's keepalived.conf per director with secrets taken
// from a plain table, and check an imported inventory with `lvsctl validate` itself (in-process).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CliIo } from "../../../src/cli/io.js";
import { run } from "../../../src/cli/main.js";
import type { Cluster } from "../../../src/inventory/model.js";
import type { SecretRef } from "../../../src/inventory/schema.js";
import { renderKeepalivedConf } from "../../../src/render/index.js";

export function secretsFrom(env: Record<string, string>): (ref: SecretRef) => string {
  return (ref) => {
    if (typeof ref === "string") return ref;
    if ("env" in ref && env[ref.env] !== undefined) return env[ref.env]!;
    throw new Error(`test secret ${JSON.stringify(ref)} has no value`);
  };
}

/** keepalived.conf of every director, by director name. */
export function renderConfs(cluster: Cluster, env: Record<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of cluster.directors) out.set(d.host.name, renderKeepalivedConf(cluster, d.host.name, { resolveSecret: secretsFrom(env), backend: "keepalived" }));
  return out;
}

/** `lvsctl validate FILE` on this YAML: its exit code and what it printed. */
export async function validateYaml(yaml: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-import-"));
  try {
    writeFileSync(join(dir, "imported.yml"), yaml);
    const o = { stdout: "", stderr: "" };
    const io: CliIo = { env, cwd: dir, isTTY: false, out: (t) => void (o.stdout += t), err: (t) => void (o.stderr += t) };
    const code = await run(["validate", "imported.yml"], io);
    return { code, ...o };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
