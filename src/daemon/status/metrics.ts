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
  if (s.ipvs) renderIpvs(s.ipvs, family);
  return `${out.join("\n")}\n`;
}

type Family = (name: string, type: "gauge" | "counter", help: string, rows: Array<[Record<string, string | number>, number]>) => void;

function renderIpvs(x: NonNullable<StatusSnapshot["ipvs"]>, family: Family): void {
  family("lvsd_ipvs_available", "gauge", "1 when lvsd could open the kernel's IPVS.", [[{}, x.available ? 1 : 0]]);
  family("lvsd_ipvs_passes_total", "counter", "Reconcile passes (dump, compare, write the differences).", [[{}, x.passes]]);
  family("lvsd_ipvs_writes_total", "counter", "IPVS table changes lvsd sent to the kernel.", [[{}, x.writes]]);
  family("lvsd_ipvs_write_errors_total", "counter", "IPVS table changes the kernel refused.", [[{}, x.writeErrors]]);
  family("lvsd_ipvs_repairs_total", "counter", "Changes made outside lvsd that lvsd put back.", [[{}, x.repairs]]);
  family("lvsd_ipvs_dump_errors_total", "counter", "Failed reads of the kernel's IPVS table.", [[{}, x.dumpErrors]]);
  if (x.lastPass) family("lvsd_ipvs_last_pass_seconds", "gauge", "Duration of the last reconcile pass.", [[{ reason: x.lastPass.reason }, x.lastPass.totalMs / 1000]]);
  const svc = (s: (typeof x.services)[number]) => ({ service: s.id, name: s.name });
  family("lvsd_ipvs_service_quorum", "gauge", "1 while the service has quorum.", x.services.map((s) => [svc(s), s.quorum ? 1 : 0]));
  family("lvsd_ipvs_service_sorry_server_active", "gauge", "1 while the sorry server replaces the real servers.", x.services.map((s) => [svc(s), s.sorryServerActive ? 1 : 0]));
  const svcCounter = (name: string, field: "conns" | "inpkts" | "outpkts" | "inbytes" | "outbytes", help: string) =>
    family(name, "counter", help, x.services.flatMap((s) => (s.counters ? [[svc(s), s.counters[field]] as [Record<string, string>, number]] : [])));
  svcCounter("lvsd_ipvs_service_connections_total", "conns", "Connections scheduled by the service (kernel counter).");
  svcCounter("lvsd_ipvs_service_in_packets_total", "inpkts", "Packets in (kernel counter).");
  svcCounter("lvsd_ipvs_service_out_packets_total", "outpkts", "Packets out (kernel counter; NAT only).");
  svcCounter("lvsd_ipvs_service_in_bytes_total", "inbytes", "Bytes in (kernel counter).");
  svcCounter("lvsd_ipvs_service_out_bytes_total", "outbytes", "Bytes out (kernel counter; NAT only).");
  const rs = x.services.flatMap((s) => s.realServers.map((r) => ({ l: { service: s.id, real_server: `${r.address.includes(":") ? `[${r.address}]` : r.address}:${r.port}`, sorry: r.sorry ? "1" : "0" }, r })));
  family("lvsd_ipvs_real_server_up", "gauge", "1 when the real server's health is up.", rs.map(({ l, r }) => [l, r.health.up ? 1 : 0]));
  family("lvsd_ipvs_real_server_weight", "gauge", "Weight in the kernel's table (-1: not in the table).", rs.map(({ l, r }) => [l, r.weight ?? -1]));
  family("lvsd_ipvs_real_server_active_connections", "gauge", "Active connections (kernel).", rs.map(({ l, r }) => [l, r.activeConns]));
  family("lvsd_ipvs_real_server_inactive_connections", "gauge", "Inactive connections (kernel).", rs.map(({ l, r }) => [l, r.inactConns]));
  const rsCounter = (name: string, field: "conns" | "inpkts" | "outpkts" | "inbytes" | "outbytes", help: string) =>
    family(name, "counter", help, rs.flatMap(({ l, r }) => (r.counters ? [[l, r.counters[field]] as [Record<string, string>, number]] : [])));
  rsCounter("lvsd_ipvs_real_server_connections_total", "conns", "Connections sent to the real server (kernel counter).");
  rsCounter("lvsd_ipvs_real_server_in_packets_total", "inpkts", "Packets in (kernel counter).");
  rsCounter("lvsd_ipvs_real_server_out_packets_total", "outpkts", "Packets out (kernel counter; NAT only).");
  rsCounter("lvsd_ipvs_real_server_in_bytes_total", "inbytes", "Bytes in (kernel counter).");
  rsCounter("lvsd_ipvs_real_server_out_bytes_total", "outbytes", "Bytes out (kernel counter; NAT only).");
}
