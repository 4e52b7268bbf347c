// modules: kernel modules loaded now (`modprobe`) and at boot (one modules-load.d(5) file this
// task owns). The director needs ip_vs and one ip_vs_<scheduler> per scheduler its services use
// (src/render's lvs.conf): keepalived loads ip_vs itself, but not the schedulers, and the IPVS
// sysctls exist only once ip_vs is loaded.
//
// A module is loaded when /sys/module/NAME exists (the kernel's name, `-` read as `_`), which is
// also true of a built-in module with parameters; a built-in without any is asked for again on
// every run (`modprobe` of a built-in succeeds and does nothing), so the files lvsctl renders name
// loadable modules only.
import type { HostFacts } from "../facts.js";
import { PlanError } from "./errors.js";
import { planFile } from "./file.js";
import { change, execStep, ok, type OpPlan, type Operation, type PlanContext, type Step } from "./types.js";

export interface ModulesDesired {
  /** Module names, in load order. */
  names: string[];
  /** The modules-load.d file this task owns. */
  file: string;
  /** Its exact text (a renderer's), else one name per line under lvsctl's header. */
  content?: string;
}

/** What is wrong with a module name, or undefined (modprobe(8) reads a leading `-` as an option). */
export function moduleNameProblem(name: string): string | undefined {
  return /^[A-Za-z0-9_][A-Za-z0-9_-]{0,55}$/.test(name) ? undefined : `${JSON.stringify(name)} is not a kernel module name (letters, digits, _ and -, not starting with -)`;
}

/** The names a modules-load.d(5) file lists: one per line, `#` and `;` comments. */
export function parseModulesLoad(content: string): string[] {
  return content
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith(";"));
}

export function modulesFileContent(names: string[]): string {
  return `# Managed by lvsctl: changes here are overwritten on the next run.\n${names.join("\n")}\n`;
}

/** Where the kernel shows a loaded module. */
export function sysModulePath(name: string): string {
  return `/sys/module/${name.replace(/-/g, "_")}`;
}

export function planModules(facts: HostFacts, d: ModulesDesired, ctx: PlanContext): OpPlan {
  for (const n of d.names) {
    const problem = moduleNameProblem(n);
    if (problem) throw new PlanError(`modules: ${problem}`, "name the module as modprobe knows it, e.g. ip_vs_wrr");
  }
  const steps: Step[] = [];
  const why: string[] = [];
  const missing = d.names.filter((n) => !facts.exists.includes(sysModulePath(n)));
  if (missing.length) {
    // -a: every name is a module (no parameters); `--`: none is read as an option.
    steps.push(
      execStep(["/sbin/modprobe", "-a", "--", ...missing], `modprobe ${missing.join(" ")}`, {
        failHint: "when modprobe says a module is not found, this kernel does not ship it: a container shares its host's kernel, and some cloud or minimal kernels leave IPVS out; `modinfo ip_vs` on the host tells. Run directors on a kernel that has IPVS (Debian's linux-image-amd64 and linux-image-cloud-amd64 do)",
      }),
    );
    why.push(`load ${missing.join(", ")}`);
  }
  const f = planFile(facts, { path: d.file, content: d.content ?? modulesFileContent(d.names), mode: 0o644, owner: "root", group: "root" }, ctx);
  if (f.status === "change") {
    steps.push(...f.steps);
    why.push(`${d.file} ${f.reason}`);
  }
  if (!steps.length) return ok(`${d.names.join(", ")} loaded and loaded at boot`);
  return change(why.join("; "), steps, f.diff ? { diff: f.diff } : {});
}

export const modulesOp: Operation<ModulesDesired> = {
  name: "modules",
  needs: (d, ctx) => ({
    exists: d.names.filter((n) => moduleNameProblem(n) === undefined).map(sysModulePath),
    sha256: [d.file],
    stats: [d.file],
    contents: ctx.diff ? [d.file] : [],
  }),
  plan: planModules,
};
