// sysctl: applied now (`sysctl -w`) and persisted in one /etc/sysctl.d file that this task owns.
// Both are compared: the live value (/proc/sys) and the file's checksum.
import type { HostFacts } from "../facts.js";
import { PlanError } from "./errors.js";
import { planFile, sha256 } from "./file.js";
import { change, execStep, ok, type OpPlan, type Operation, type PlanContext, type Step } from "./types.js";

export interface SysctlDesired {
  values: Record<string, string | number>;
  /** The sysctl.d file this task owns, e.g. /etc/sysctl.d/90-lvsctl.conf (sysctl.d(5): applied in lexical order). */
  file: string;
}

const norm = (v: string | number) => String(v).trim().replace(/\s+/g, " ");

/** The persisted file: one `key = value` per line, sorted, so the checksum is stable. */
export function sysctlFileContent(values: Record<string, string | number>): string {
  const lines = Object.keys(values)
    .sort()
    .map((k) => `${k} = ${norm(values[k]!)}`);
  return `# Managed by lvsctl: changes here are overwritten on the next run.\n${lines.join("\n")}\n`;
}

export function planSysctl(facts: HostFacts, d: SysctlDesired, ctx: PlanContext): OpPlan {
  const live: string[] = [];
  const why: string[] = [];
  for (const key of Object.keys(d.values).sort()) {
    if (key.split(".").some((s) => s === "" || s === "*")) throw new PlanError(`sysctl key ${JSON.stringify(key)} is not a concrete name`);
    const want = norm(d.values[key]!);
    const have = facts.sysctls[key];
    if (have === undefined) throw new PlanError(`sysctl ${key} does not exist on this host`, "check the name (and that the interface exists)");
    if (norm(have) !== want) {
      live.push(`${key}=${want}`);
      why.push(`${key} ${have} -> ${want}`);
    }
  }
  const steps: Step[] = [];
  if (live.length) steps.push(execStep(["sysctl", "-q", "-w", ...live], `sysctl -w ${live.join(" ")}`));
  const content = sysctlFileContent(d.values);
  const file = planFile(facts, { path: d.file, content, mode: 0o644, owner: "root", group: "root" }, ctx);
  if (file.status === "change") {
    steps.push(...file.steps);
    why.push(`${d.file} ${facts.sha256[d.file] === undefined ? "missing" : facts.sha256[d.file] === sha256(content) ? "owner/mode" : "differs"}`);
  }
  if (!steps.length) return ok(`${Object.keys(d.values).length} values already set and persisted`);
  const out = change(why.join("; "), steps);
  if (file.diff) out.diff = file.diff;
  return out;
}

export const sysctlOp: Operation<SysctlDesired> = {
  name: "sysctl",
  needs: (d, ctx) => ({ sysctls: Object.keys(d.values), sha256: [d.file], stats: [d.file], contents: ctx.diff ? [d.file] : [] }),
  plan: planSysctl,
};
