// `judge`: what is wrong with a cluster, from its status. One problem per sentence, each naming
// its host; [] is a healthy cluster. Pure. The kinds decide the exit code (exitCodeFor): a host
// that could not be asked is "unreachable" (3), anything else is unhealthy (4).
import type { Cluster } from "../inventory/model.js";
import { ExitCode } from "../errors/index.js";
import { expectedRole } from "../roll/index.js";
import type { ClusterStatus, Problem } from "./types.js";

/** Exit code of `lvsctl status` when the cluster is not healthy: something differs from the inventory, or is down. */
export const EXIT_UNHEALTHY = ExitCode.Unhealthy;

export function judge(cluster: Cluster, status: Omit<ClusterStatus, "problems" | "healthy">): Problem[] {
  const out: Problem[] = [];
  const daemon = cluster.backend;
  const unasked = status.directors.filter((d) => !d.reachable).map((d) => d.name);
  for (const d of status.directors) {
    if (!d.reachable) {
      out.push({ kind: "unreachable", host: d.name, message: `cannot ask ${d.name}: ${d.error ?? "unreachable"}` });
      continue;
    }
    if (!d.daemon.active) out.push({ kind: "daemon", host: d.name, message: `${daemon} is not active on ${d.name} (systemctl: ${d.daemon.state || "no answer"})` });
    if (d.error) out.push({ kind: "daemon", host: d.name, message: `${d.name}: ${d.error}` });
    for (const i of d.instances) {
      if (i.role === "PARTIAL") out.push({ kind: "vrrp", host: d.name, message: `${i.name}: ${d.name} holds only some of its VIPs` });
      if (i.daemonState === "FAULT") out.push({ kind: "vrrp", host: d.name, message: `${i.name}: lvsd on ${d.name} is in FAULT` });
      if (i.daemonState === "MASTER" && i.role === "BACKUP") out.push({ kind: "vrrp", host: d.name, message: `${i.name}: lvsd on ${d.name} says MASTER but ${d.name} holds none of its VIPs` });
      if (i.daemonState !== null && i.daemonState !== "MASTER" && i.role === "MASTER") out.push({ kind: "vrrp", host: d.name, message: `${i.name}: ${d.name} holds its VIPs while lvsd there says ${i.daemonState}` });
    }
    // The table is the daemon's work: with the daemon stopped (keepalived clears its services on
    // the way out), what the table lacks is that one problem, not one per service.
    if (!d.daemon.active) continue;
    for (const t of d.ipvsDrift) out.push({ kind: "drift", host: d.name, message: `IPVS on ${d.name}: ${t}` });
    for (const s of d.ipvs ?? []) {
      for (const r of s.realServers) {
        if (r.health === "down") out.push({ kind: "health", host: d.name, message: `IPVS on ${d.name}: service ${s.key}: real server ${r.key}${r.host ? ` (${r.host})` : ""} is down: ${r.healthReason}` });
      }
    }
  }
  // One master per instance, and where the priorities put it. With a director not asked, who
  // holds what is not known: say nothing rather than guess.
  if (unasked.length === 0) {
    const running = new Set(status.directors.filter((d) => d.daemon.active).map((d) => d.name));
    for (const inst of status.instances) {
      if (inst.masters.length === 0) out.push({ kind: "vrrp", message: `${inst.name}: no director holds its VIPs (no master)` });
      else if (inst.masters.length > 1) out.push({ kind: "vrrp", message: `${inst.name}: ${inst.masters.join(" and ")} all hold its VIPs (${inst.masters.length} masters)` });
      else {
        for (const d of cluster.directors) {
          const di = d.instances.find((i) => i.name === inst.name);
          if (!di || !running.has(d.host.name)) continue;
          const exp = expectedRole(cluster, d.host.name, di, running);
          const have = status.directors.find((x) => x.name === d.host.name)?.instances.find((i) => i.name === inst.name)?.role;
          if (exp && have && have !== "PARTIAL" && have !== exp.want) {
            out.push({ kind: "vrrp", host: d.host.name, message: `${inst.name}: ${d.host.name} is ${have}, expected ${exp.want} (the inventory's priority ${di.priority}; ${exp.top.name} has the highest, ${exp.top.prio}, among the directors running ${daemon})` });
          }
        }
      }
    }
  }
  for (const r of status.realServers) {
    if (!r.reachable) out.push({ kind: "unreachable", host: r.host, message: `cannot ask ${r.host}: ${r.error ?? "unreachable"}` });
    else if (r.error) out.push({ kind: "realserver", host: r.host, message: `${r.host}: ${r.error}` });
    else if (r.missing.length) out.push({ kind: "realserver", host: r.host, message: `${r.host} (real server) lacks ${r.missing.join(", ")}` });
  }
  return out;
}

/** 0 healthy; 4 (EXIT_UNHEALTHY) when anything but an unreachable host is wrong; else 3 when a host could not be asked. */
export function exitCodeFor(problems: readonly Problem[]): number {
  if (problems.some((p) => p.kind !== "unreachable")) return EXIT_UNHEALTHY;
  if (problems.length) return ExitCode.Unreachable;
  return ExitCode.Ok;
}
