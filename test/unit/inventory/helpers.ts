// Shared by the inventory tests: a small valid cluster to break in one place, and the first line
// of each formatted diagnostic (file:line:col: severity CODE: message).
import { formatDiagnostic, parseInventory, type LoadResult } from "../../../src/inventory/index.js";

/** Eight lines: two directors, two real servers. Cases append from line 9 on. */
export const BASE = `hosts:
  ds1: { address: 10.77.0.11 }
  ds2: { address: 10.77.0.12 }
  rs1: { address: 10.77.0.21 }
  rs2: { address: 10.77.0.22 }
groups:
  directors: { hosts: [ds1, ds2] }
  realservers: { hosts: [rs1, rs2] }
`;

/** A VRRP instance for BASE (lines 9-13). */
export const VI = `vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddress: [10.77.0.100/24]
`;

export const ENV = { LVS_PASS: "secret", SSH_AUTH_SOCK: "/run/agent.sock" };

export function parse(yaml: string, env: NodeJS.ProcessEnv = ENV): LoadResult {
  return parseInventory(yaml, "inv.yml", { env });
}

/** First lines of all diagnostics, in order. */
export function lines(yaml: string, env: NodeJS.ProcessEnv = ENV): string[] {
  return parse(yaml, env).diagnostics.map((d) => formatDiagnostic(d).split("\n")[0]!);
}
