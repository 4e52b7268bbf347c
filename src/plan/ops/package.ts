// package: installed with the host's package manager, only when missing. No upgrades: a
// version already installed is left alone (say `state: latest` in a later version if needed).
//
// apt installs from the package lists on disk, which a fresh host may not have (an image built
// with its lists removed) or may hold stale. Facts say which candidate apt would pick for each
// missing package (`apt-cache policy`); when one has none, the lists are refreshed first
// (`apt-get update`), as Ansible's apt module does with update_cache. `update_cache: true` always
// refreshes before installing, but only when something is missing: a run with nothing to install
// stays a run without a single apt command.
import { argv as argvOf, sh } from "../../command/index.js";
import type { HostFacts } from "../facts.js";
import { PlanError } from "./errors.js";
import { change, ok, type OpPlan, type Operation, type Step } from "./types.js";

export interface PackageDesired {
  names: string[];
  /** apt: refresh the package lists before installing whatever is missing (dnf and yum refresh expired metadata themselves). */
  updateCache?: boolean;
}

const TIMEOUT_MS = 15 * 60_000;

/**
 * What is wrong with a package name, or undefined: it starts with a letter, digit, `_` or `@` (a
 * dnf group) and holds no space or shell character, so it is never read as an option. apt's
 * `name=version` and `name/release` forms pass.
 */
export function packageNameProblem(name: string): string | undefined {
  if (name.startsWith("-")) return `package name ${JSON.stringify(name)} starts with -: the package manager would read it as an option`;
  if (!/^[A-Za-z0-9_@][A-Za-z0-9_@+.:=~/-]*$/.test(name) || name.length > 200) return `${JSON.stringify(name)} is not a package name (letters, digits and _ @ + . : = ~ / -, starting with a letter, digit, _ or @)`;
  return undefined;
}

export function planPackage(facts: HostFacts, d: PackageDesired): OpPlan {
  for (const n of d.names) {
    const problem = packageNameProblem(n);
    if (problem) throw new PlanError(problem, "name the package as the package manager lists it");
  }
  const missing = d.names.filter((n) => facts.packages[n] === undefined);
  if (!missing.length) return ok(d.names.map((n) => `${n} ${facts.packages[n]}`).join(", "));
  const reason = `missing: ${missing.join(", ")}`;
  switch (facts.packageManager) {
    case "apt":
      return planApt(facts, d, missing, reason);
    case "dnf":
    case "yum":
      return change(reason, [{ kind: "exec", cmd: { argv: [facts.packageManager, "install", "-y", "-q", "--", ...missing] }, describe: `${facts.packageManager} install ${missing.join(" ")}`, timeoutMs: TIMEOUT_MS }]);
    default:
      throw new PlanError(`no supported package manager (apt-get, dnf, yum) on this host to install ${missing.join(", ")}`, "install the package by hand, or leave this task out for this host (when: os_family == 'debian')");
  }
}

function planApt(facts: HostFacts, d: PackageDesired, missing: string[], reason: string): OpPlan {
  // Not gathered (facts from an older script): no refresh unless asked, as before.
  const noCandidate = facts.aptCandidates === undefined ? [] : missing.filter((n) => !facts.aptCandidates![n]);
  const steps: Step[] = [];
  let why = reason;
  if (noCandidate.length) why += `; no candidate for ${noCandidate.join(", ")} in the package lists: refreshing them first`;
  else if (d.updateCache) why += "; update_cache: refreshing the package lists first";
  if (noCandidate.length || d.updateCache)
    steps.push({ kind: "exec", cmd: { argv: ["apt-get", "update", "-q"] }, describe: "apt-get update -q (refresh the package lists)", timeoutMs: TIMEOUT_MS });
  // apt-get(8); DEBIAN_FRONTEND=noninteractive keeps debconf from prompting.
  const argv = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--no-install-recommends", "--", ...missing];
  const describe = `apt-get install ${missing.join(" ")}`;
  if (!noCandidate.length) steps.push({ kind: "exec", cmd: { argv }, describe, timeoutMs: TIMEOUT_MS });
  else {
    // A name apt did not know before the refresh may still be unknown after it (a typo, a
    // repository not configured): the failure then ends with what to do, after apt's own error.
    const hint =
      `hint: apt had no candidate for ${noCandidate.join(", ")} before refreshing its lists; if it still cannot locate it, ` +
      `check the name (apt-cache policy NAME on the host) and that a source under /etc/apt/sources.list or /etc/apt/sources.list.d/ carries it`;
    const script = sh`${argvOf(...argv)} || { rc=$?; printf '%s\\n' ${hint} >&2; exit $rc; }`;
    steps.push({ kind: "exec", cmd: script, describe, timeoutMs: TIMEOUT_MS });
  }
  return change(why, steps);
}

export const packageOp: Operation<PackageDesired> = {
  name: "package",
  // A bad name is never asked for (facts would pass it to dpkg-query); plan refuses it.
  needs: (d) => ({ packages: d.names.filter((n) => packageNameProblem(n) === undefined) }),
  plan: planPackage,
};
