// systemd unit: optionally install its unit file (daemon-reload only when that file changed),
// enable, start. `restarted` / `reloaded` always act: they are meant for handlers, which run only
// when notified by a change.
import type { HostFacts } from "../facts.js";
import { UNIT_DIR } from "./address.js";
import { PlanError } from "./errors.js";
import { planFile } from "./file.js";
import { change, execStep, ok, type OpPlan, type Operation, type PlanContext, type Step } from "./types.js";

export interface ServiceDesired {
  name: string;
  /** Unit file content to install under /etc/systemd/system. */
  unitContent?: string;
  enabled?: boolean;
  state?: "started" | "stopped" | "restarted" | "reloaded";
}

export function unitName(name: string): string {
  return /\.(service|socket|timer|target|path|mount)$/.test(name) ? name : `${name}.service`;
}

export function planService(facts: HostFacts, d: ServiceDesired, ctx: PlanContext): OpPlan {
  if (facts.init !== "systemd") throw new PlanError(`cannot manage ${d.name}: the host does not run systemd`);
  const unit = unitName(d.name);
  const steps: Step[] = [];
  const why: string[] = [];
  let diff: string | undefined;
  const f = facts.units[unit] ?? { enabled: "not-found", active: "inactive" };
  const enable = d.enabled === true && f.enabled !== "enabled" && f.enabled !== "static" && f.enabled !== "alias";
  if (d.unitContent !== undefined) {
    const p = planFile(facts, { path: `${UNIT_DIR}/${unit}`, content: d.unitContent, mode: 0o644, owner: "root", group: "root" }, ctx);
    if (p.status === "change") {
      // `systemctl enable` reloads systemd itself (systemctl(1), --no-reload): no second reload.
      steps.push(...p.steps, ...(enable ? [] : [execStep(["systemctl", "daemon-reload"])]));
      why.push(`unit file ${p.reason}`);
      diff = p.diff;
    }
  }
  if (enable) {
    steps.push(execStep(["systemctl", "enable", "--quiet", unit]));
    why.push(`enable (was ${f.enabled})`);
  } else if (d.enabled === false && f.enabled === "enabled") {
    steps.push(execStep(["systemctl", "disable", "--quiet", unit]));
    why.push("disable");
  }
  switch (d.state) {
    case "started":
      if (f.active !== "active") {
        steps.push(execStep(["systemctl", "start", unit]));
        why.push(`start (was ${f.active})`);
      }
      break;
    case "stopped":
      if (f.active === "active" || f.active === "activating" || f.active === "reloading") {
        steps.push(execStep(["systemctl", "stop", unit]));
        why.push("stop");
      }
      break;
    case "restarted":
      steps.push(execStep(["systemctl", "restart", unit]));
      why.push("restart");
      break;
    case "reloaded":
      // A stopped service is started instead: reload-or-restart (systemctl(1)).
      steps.push(execStep(["systemctl", f.active === "active" ? "reload" : "start", unit]));
      why.push(f.active === "active" ? "reload" : "start (was not running)");
      break;
    case undefined:
      break;
  }
  if (!steps.length) return ok(`${unit} ${f.enabled}, ${f.active}`);
  const out = change(why.join("; "), steps);
  if (diff) out.diff = diff;
  return out;
}

export const serviceOp: Operation<ServiceDesired> = {
  name: "service",
  needs: (d, ctx) => {
    const unit = unitName(d.name);
    const path = `${UNIT_DIR}/${unit}`;
    return { units: [unit], ...(d.unitContent !== undefined ? { sha256: [path], stats: [path], contents: ctx.diff ? [path] : [] } : {}) };
  },
  plan: planService,
};
