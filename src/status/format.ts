// The screen of `lvsctl status`: plain text, columns padded, no colour (it must read the same in a
// log, a pipe and `--watch`). Pure: a ClusterStatus in, text out.
import type { ClusterStatus, DirectorStatus, RealServerRow } from "./types.js";

/** Rows of cells -> lines with each column padded to its widest cell (the last is not padded). */
function table(rows: string[][], indent = "  "): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd());
}

const conns = (r: RealServerRow) => (r.activeConns === null ? "-" : `${r.activeConns}/${r.inactConns ?? 0}`);
const weight = (r: RealServerRow) => {
  const w = r.weight === null ? "-" : String(r.weight);
  return r.expectedWeight !== null && r.weight !== r.expectedWeight ? `${w} (inv ${r.expectedWeight})` : w;
};

function roleOf(d: DirectorStatus): string {
  if (!d.reachable) return "unreachable";
  const roles = [...new Set(d.instances.map((i) => i.role ?? "?"))];
  return roles.join("/");
}

export function formatStatus(s: ClusterStatus): string {
  const out: string[] = [];
  const when = s.checkedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC");
  out.push(`cluster ${s.inventory} (${s.backend}), asked at ${when}`, "");

  out.push("VRRP");
  for (const inst of s.instances) {
    const unasked = s.directors.filter((d) => !d.reachable && d.instances.some((i) => i.name === inst.name)).map((d) => d.name);
    const m = inst.masters.length === 0 ? (unasked.length ? `no master seen (${unasked.join(", ")} not asked)` : "no master") : inst.masters.length === 1 ? `master ${inst.masters[0]}` : `masters ${inst.masters.join(", ")} (more than one!)`;
    out.push(`  ${inst.name} (vrid ${inst.vrid}; ${inst.vips.join(", ")}): ${m}`);
    const rows: string[][] = [];
    for (const d of s.directors) {
      const i = d.instances.find((x) => x.name === inst.name);
      if (!i) continue;
      if (!d.reachable) {
        rows.push([d.name, "?", "", "unreachable"]);
        continue;
      }
      const state = i.daemonState && i.daemonState !== i.role ? `${i.role ?? "?"} (lvsd: ${i.daemonState})` : (i.role ?? "?");
      rows.push([d.name, state, `priority ${i.priority ?? "?"}${i.prioritySource === "inventory" ? " (inventory)" : ""}`, `${d.daemon.unit.replace(/\.service$/, "")} ${d.daemon.state ?? "?"}`]);
    }
    out.push(...table(rows, "    "));
  }

  for (const d of s.directors) {
    out.push("", `IPVS on ${d.name} (${roleOf(d)})${d.lvsd ? `, lvsd pid ${d.lvsd.pid} up ${d.lvsd.uptimeSec} s` : ""}`);
    if (!d.reachable) {
      out.push(`  not asked: ${d.error ?? "unreachable"}`);
      continue;
    }
    if (d.ipvs === null) {
      // No error with no table: a VRRP-only cluster whose director cannot read IPVS (collect.ts).
      out.push(d.error ? `  table not read: ${d.error}` : "  table not read: the inventory has no virtual service (VRRP only)");
      continue;
    }
    if (!d.daemon.active) out.push(`  ${d.daemon.unit} is ${d.daemon.state ?? "not active"}: nothing keeps this table`);
    if (d.ipvs.length === 0) out.push("  (empty)");
    for (const svc of d.ipvs) {
      const flags = [svc.scheduler ?? "", !svc.inTable ? "NOT IN THE KERNEL" : "", !svc.inInventory ? "not in the inventory" : ""].filter(Boolean).join(", ");
      out.push(`  ${svc.key}${svc.name && !svc.key.includes(svc.name) ? ` "${svc.name}"` : ""} ${flags}`.trimEnd());
      const rows = [["real server", "host", "fwd", "weight", "conns act/inact", "health"]];
      for (const r of svc.realServers) rows.push([r.key, r.host ?? (r.sorry ? "(sorry)" : "-"), r.forward ?? "-", weight(r), conns(r), `${r.health.toUpperCase()}: ${r.healthReason}`]);
      out.push(...table(rows, "    "));
    }
  }

  if (s.realServers.length) {
    out.push("", "Real servers (SSH-managed, DR/TUN: VIPs on lo, ARP sysctls)");
    const rows: string[][] = [];
    for (const r of s.realServers) {
      if (!r.reachable) rows.push([r.host, r.address, `unreachable: ${r.error ?? ""}`]);
      else if (r.error) rows.push([r.host, r.address, r.error]);
      else rows.push([r.host, r.address, r.missing.length ? `LACKS ${r.missing.join(", ")}` : `ok (${r.vips.map((v) => v.address).join(", ")} on lo; arp_ignore ${r.arpIgnore}, arp_announce ${r.arpAnnounce})`]);
    }
    out.push(...table(rows));
  }

  out.push("");
  if (s.problems.length === 0) out.push("healthy: every host answered, one master per instance where the priorities put it, each table as the inventory says, every real server up");
  else {
    out.push(`${s.problems.length} problem${s.problems.length === 1 ? "" : "s"}:`);
    for (const p of s.problems) out.push(`  - [${p.kind}] ${p.message}`);
  }
  return out.join("\n") + "\n";
}
