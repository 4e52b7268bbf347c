// Prometheus text exposition format 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats)
// rendered from a status snapshot. Pure.
import type { StatusSnapshot } from "./types.js";

/** lvsd_vrrp_state values, keepalived's SNMP numbering (vrrpInstanceState: init 0 ... fault 3). */
export const STATE_VALUE = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3, STOPPED: 4 } as const;

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labels(l: Record<string, string | number>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(String(v))}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

export function renderMetrics(s: StatusSnapshot): string {
  const out: string[] = [];
  const family = (name: string, type: "gauge" | "counter", help: string, rows: Array<[Record<string, string | number>, number]>) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of rows) out.push(`${name}${labels(l)} ${v}`);
  };
  const inst = (i: StatusSnapshot["instances"][number]) => ({ instance: i.name, vrid: i.vrid, interface: i.interface });
  family(
    "lvsd_vrrp_state",
    "gauge",
    "VRRP state per instance: 0 init, 1 backup, 2 master, 3 fault, 4 stopped.",
    s.instances.map((i) => [inst(i), STATE_VALUE[i.state]]),
  );
  family("lvsd_vrrp_priority", "gauge", "Configured VRRP priority.", s.instances.map((i) => [inst(i), i.priority]));
  family("lvsd_vrrp_transitions_total", "counter", "State transitions since start.", s.instances.map((i) => [inst(i), i.transitions]));
  family("lvsd_vrrp_adverts_sent_total", "counter", "VRRP adverts sent.", s.instances.map((i) => [inst(i), i.advertsSent]));
  family("lvsd_vrrp_adverts_received_total", "counter", "VRRP adverts accepted.", s.instances.map((i) => [inst(i), i.advertsReceived]));
  const rej: Array<[Record<string, string | number>, number]> = [];
  for (const i of s.instances) for (const [reason, n] of Object.entries(i.rejected).sort()) rej.push([{ ...inst(i), reason }, n]);
  for (const [reason, n] of Object.entries(s.rejected).sort()) rej.push([{ instance: "", vrid: "", interface: "", reason }, n]);
  family("lvsd_vrrp_rejected_total", "counter", "Packets rejected, by reason (instance empty when none matched).", rej);
  family("lvsd_vip_restored_total", "counter", "VIPs put back after something else removed them while master.", s.instances.map((i) => [inst(i), i.vipsRestored]));
  family("lvsd_vrrp_lower_priority_adverts_total", "counter", "Adverts from a lower-priority master (split brain healing or a stuck peer).", s.instances.map((i) => [inst(i), i.lowerPriorityAdverts]));
  family("lvsd_uptime_seconds", "gauge", "Seconds since lvsd started.", [[{}, s.uptimeSec]]);
  return `${out.join("\n")}\n`;
}
