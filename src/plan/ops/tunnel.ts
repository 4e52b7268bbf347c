// tunnel: what an LVS-TUN real server needs beyond its VIPs, all in the run that makes it one.
// The directors wrap client packets in IP-in-IP; the host decapsulates them on tunl0, which
// exists once the ipip module is loaded, must be up, and must not drop the inner packet (whose
// destination is the VIP on lo) by reverse-path filtering: its rp_filter is 0 (the kernel uses
// the larger of `all` and the interface's value, so `all` comes from the sysctl file too).
//
// Facts are read before the play, when tunl0 may not exist yet: its rp_filter is set here, after
// the modprobe, not by the sysctl task (which skips the key while tunl0 is missing, "-" prefix).
// At boot: the modules-load.d file loads ipip before systemd-sysctl applies that key.
//
// When the host stops serving TUN services (`modulesContent: null`) and lvsctl's file is there,
// the file goes and tunl0 is set down; the module stays loaded (removing it can fail while in
// use, and a loaded ipip with tunl0 down receives nothing).
import type { HostFacts } from "../facts.js";
import { planFile } from "./file.js";
import { change, execStep, ok, type OpPlan, type Operation, type PlanContext, type Step } from "./types.js";

export const TUNL0_RP_FILTER = "net.ipv4.conf.tunl0.rp_filter";

export interface TunnelDesired {
  /** The modules-load.d file that loads ipip at boot. */
  modulesFile: string;
  /** Its text (src/render's); null: the host serves no TUN service. */
  modulesContent: string | null;
}

export function planTunnel(facts: HostFacts, d: TunnelDesired, ctx: PlanContext): OpPlan {
  const steps: Step[] = [];
  const why: string[] = [];
  const tunl0 = facts.links.find((l) => l.name === "tunl0");
  if (d.modulesContent === null) {
    if (facts.sha256[d.modulesFile] === undefined) return ok("no TUN service");
    if (tunl0?.flags.includes("UP")) {
      steps.push(execStep(["/sbin/ip", "link", "set", "tunl0", "down"]));
      why.push("tunl0 down (no TUN service any more)");
    }
    steps.push(execStep(["rm", "-f", d.modulesFile]));
    why.push(`remove ${d.modulesFile}`);
    return change(why.join("; "), steps);
  }
  if (!tunl0) {
    steps.push(execStep(["/sbin/modprobe", "ipip"]));
    why.push("load ipip");
  }
  if (!tunl0?.flags.includes("UP")) {
    steps.push(execStep(["/sbin/ip", "link", "set", "tunl0", "up"]));
    why.push("tunl0 up");
  }
  const rp = facts.sysctls[TUNL0_RP_FILTER];
  if (rp?.trim() !== "0") {
    steps.push(execStep(["sysctl", "-q", "-w", `${TUNL0_RP_FILTER}=0`]));
    why.push(`${TUNL0_RP_FILTER} ${rp ?? "(no tunl0 yet)"} -> 0`);
  }
  const f = planFile(facts, { path: d.modulesFile, content: d.modulesContent, mode: 0o644, owner: "root", group: "root" }, ctx);
  if (f.status === "change") {
    steps.push(...f.steps);
    why.push(`${d.modulesFile} ${f.reason}`);
  }
  if (!steps.length) return ok("ipip loaded, tunl0 up, rp_filter 0, loaded at boot");
  return change(why.join("; "), steps, f.diff ? { diff: f.diff } : {});
}

export const tunnelOp: Operation<TunnelDesired> = {
  name: "tunnel",
  needs: (d, ctx) => ({ sysctls: [TUNL0_RP_FILTER], sha256: [d.modulesFile], stats: [d.modulesFile], contents: ctx.diff ? [d.modulesFile] : [] }),
  plan: planTunnel,
};
