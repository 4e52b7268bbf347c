// package: installed with the host's package manager, only when missing. No upgrades: a
// version already installed is left alone (say `state: latest` in a later version if needed).
import type { HostFacts } from "../facts.js";
import { PlanError } from "./errors.js";
import { change, ok, type OpPlan, type Operation, type Step } from "./types.js";

export interface PackageDesired {
  names: string[];
}

export function planPackage(facts: HostFacts, d: PackageDesired): OpPlan {
  const missing = d.names.filter((n) => facts.packages[n] === undefined);
  if (!missing.length) return ok(d.names.map((n) => `${n} ${facts.packages[n]}`).join(", "));
  let step: Step;
  const timeoutMs = 15 * 60_000;
  switch (facts.packageManager) {
    case "apt":
      // apt-get(8); DEBIAN_FRONTEND=noninteractive keeps debconf from prompting.
      step = { kind: "exec", cmd: { argv: ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--no-install-recommends", ...missing] }, describe: `apt-get install ${missing.join(" ")}`, timeoutMs };
      break;
    case "dnf":
    case "yum":
      step = { kind: "exec", cmd: { argv: [facts.packageManager, "install", "-y", "-q", ...missing] }, describe: `${facts.packageManager} install ${missing.join(" ")}`, timeoutMs };
      break;
    default:
      throw new PlanError(`no supported package manager (apt-get, dnf, yum) on this host to install ${missing.join(", ")}`);
  }
  return change(`missing: ${missing.join(", ")}`, [step]);
}

export const packageOp: Operation<PackageDesired> = {
  name: "package",
  needs: (d) => ({ packages: d.names }),
  plan: planPackage,
};
