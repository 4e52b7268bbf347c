// sysctl: applied now (`sysctl -w`) and persisted in one /etc/sysctl.d file that this task owns.
// Both are compared: the live value (/proc/sys) and the file's checksum.
//
// The file is either written from `values` (sysctlFileContent) or given whole as `content` by
// whoever owns its text (the real-server bootstrap gives src/render's file): then the values
// applied live are read from that content, so what is persisted and what is applied now cannot
// differ.
import type { HostFacts } from "../facts.js";
import { sysctlKeyProblem } from "../../inventory/sysctls.js";
import { PlanError } from "./errors.js";
import { planFile, sha256 } from "./file.js";
import { change, execStep, ok, type OpPlan, type Operation, type PlanContext, type Step } from "./types.js";

export interface SysctlDesired {
  values: Record<string, string | number>;
  /** The sysctl.d file this task owns, e.g. /etc/sysctl.d/90-lvsctl.conf (sysctl.d(5): applied in lexical order). */
  file: string;
  /** The file's exact text, when it is decided elsewhere; `values` and `optional` then come from it (sysctlFromContent). */
  content?: string;
  /** Keys that may not exist on the host (sysctl.d(5)'s "-" prefix): skipped live when absent. */
  optional?: string[];
  /** Passed on to the task's result (e.g. the renderer's note on what the file leaves out). */
  warnings?: string[];
}

/**
 * A sysctl.d(5) file read the way systemd-sysctl reads it: `key = value` lines, `#` and `;`
 * comments, blank lines ignored, a later line for a key wins, a leading "-" makes a key
 * optional. The key keeps its spelling (dots, and `/` for a dot in an interface name).
 */
export function parseSysctlConf(content: string): { values: Record<string, string>; optional: string[] } {
  const values: Record<string, string> = {};
  const optional = new Set<string>();
  for (const raw of content.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) throw new PlanError(`sysctl file line ${JSON.stringify(line)} has no "="`);
    let key = line.slice(0, eq).trim();
    if (key.startsWith("-")) {
      key = key.slice(1).trim();
      optional.add(key);
    } else optional.delete(key);
    values[key] = line.slice(eq + 1).trim();
  }
  return { values, optional: [...optional].sort() };
}

/** The desired state for a sysctl.d file whose text is given whole. */
export function sysctlFromContent(file: string, content: string): SysctlDesired {
  return { file, content, ...parseSysctlConf(content) };
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
    const problem = sysctlKeyProblem(key);
    if (problem) throw new PlanError(`sysctl key ${JSON.stringify(key)}: ${problem}`, "write the key as sysctl -a prints it, e.g. net.ipv4.conf.eth0/100.arp_ignore");
    const want = norm(d.values[key]!);
    const have = facts.sysctls[key];
    if (have === undefined && d.optional?.includes(key)) continue;
    if (have === undefined) throw new PlanError(`sysctl ${key} does not exist on this host`, "check the name (and that the interface exists)");
    if (norm(have) !== want) {
      live.push(`${key}=${want}`);
      why.push(`${key} ${have} -> ${want}`);
    }
  }
  const steps: Step[] = [];
  if (live.length) steps.push(execStep(["sysctl", "-q", "-w", ...live], `sysctl -w ${live.join(" ")}`));
  const content = d.content ?? sysctlFileContent(d.values);
  const file = planFile(facts, { path: d.file, content, mode: 0o644, owner: "root", group: "root" }, ctx);
  if (file.status === "change") {
    steps.push(...file.steps);
    why.push(`${d.file} ${facts.sha256[d.file] === undefined ? "missing" : facts.sha256[d.file] === sha256(content) ? "owner/mode" : "differs"}`);
  }
  const warnings = d.warnings?.length ? { warnings: d.warnings } : {};
  if (!steps.length) return ok(`${Object.keys(d.values).length} values already set and persisted`, warnings);
  const out = change(why.join("; "), steps, warnings);
  if (file.diff) out.diff = file.diff;
  return out;
}

export const sysctlOp: Operation<SysctlDesired> = {
  name: "sysctl",
  // A bad key is never asked for (it would be a path outside /proc/sys); plan refuses it. A `*`
  // segment is asked for: the fact pass renders with every interface as `*` to learn them all.
  needs: (d, ctx) => ({ sysctls: Object.keys(d.values).filter((k) => sysctlKeyProblem(k, { glob: true }) === undefined), sha256: [d.file], stats: [d.file], contents: ctx.diff ? [d.file] : [] }),
  plan: planSysctl,
};
