// One round trip per director, shared by the rolling gates and `lvsctl status`: the daemons' unit
// states, the addresses it holds, its IPVS table (`ipvsadm -Sn`) and, for status, the same table
// with connection counts (`ipvsadm -Ln`); for the gates, the gated daemon's systemd state
// (unit-state.ts). A fixed script: only unit names (ours) are interpolated, as quoted words.
import { argv, sh, type Command } from "../command/index.js";
import { unitShowWords } from "./unit-state.js";

export const PROBE_MARK = "@@lvsctl-roll";
/** Before the gated daemon's `systemctl show` (unit-state.ts), when the probe asks for it. */
export const UNIT_MARK = "@@lvsctl-unit";

/**
 * The probe for a director whose daemon runs as `unit` (keepalived.service, lvsd.service), or
 * several units: `systemctl is-active` prints one state per unit, in order (the rolls ask about
 * both VRRP daemons, to see a director that runs the other one). `show`: also that unit's
 * ActiveState, SubState, NRestarts and Result (the rolls' gate, to see a crash loop).
 */
export function directorProbe(unit: string | readonly string[], opts: { list?: boolean; show?: string } = {}): Command {
  const units = typeof unit === "string" ? [unit] : [...unit];
  const show = opts.show !== undefined ? sh`echo @@lvsctl-unit; ${argv(...unitShowWords(opts.show))} 2>&1; ` : sh``;
  return opts.list
    ? sh`systemctl is-active ${units}; echo @@lvsctl-roll; ip -j addr show; echo @@lvsctl-roll; ipvsadm -Sn 2>&1; echo @@lvsctl-roll; ipvsadm -Ln 2>&1; ${show}true`
    : sh`systemctl is-active ${units}; echo @@lvsctl-roll; ip -j addr show; echo @@lvsctl-roll; ipvsadm -Sn 2>&1; ${show}true`;
}

export interface DirectorProbeOutput {
  /** systemctl's word for the (first) unit: active, inactive, failed, activating, ... */
  active: string;
  /** One word per unit asked about, in order. */
  states: string[];
  /** `ip -j addr show`. */
  addrs: string;
  /** `ipvsadm -Sn`, or its error. */
  ipvsSave: string;
  /** `ipvsadm -Ln`, or its error ("" when not asked). */
  ipvsList: string;
  /** `systemctl show` of the `show` unit ("" when not asked). */
  unitShow: string;
}

/** Pure: the probe's output in its parts. */
export function splitDirectorProbe(stdout: string): DirectorProbeOutput {
  const [rest = "", unitShow = ""] = stdout.split(`${UNIT_MARK}\n`);
  const [active = "", addrs = "", ipvsSave = "", ipvsList = ""] = rest.split(`${PROBE_MARK}\n`);
  const states = active.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return { active: states[0] ?? "", states, addrs, ipvsSave, ipvsList, unitShow };
}
