// One round trip per director, shared by the rolling gates and `lvsctl status`: the daemon's unit
// state, the addresses it holds, its IPVS table (`ipvsadm -Sn`) and, for status, the same table
// with connection counts (`ipvsadm -Ln`). A fixed script: only the unit name (one of ours) is
// interpolated, as a quoted word.
import { sh, type Command } from "../command/index.js";

export const PROBE_MARK = "@@lvsctl-roll";

/** The probe for a director whose daemon runs as `unit` (keepalived.service, lvsd.service). */
export function directorProbe(unit: string, opts: { list?: boolean } = {}): Command {
  return opts.list
    ? sh`systemctl is-active ${unit}; echo @@lvsctl-roll; ip -j addr show; echo @@lvsctl-roll; ipvsadm -Sn 2>&1; echo @@lvsctl-roll; ipvsadm -Ln 2>&1; true`
    : sh`systemctl is-active ${unit}; echo @@lvsctl-roll; ip -j addr show; echo @@lvsctl-roll; ipvsadm -Sn 2>&1; true`;
}

export interface DirectorProbeOutput {
  /** systemctl's word: active, inactive, failed, activating, ... */
  active: string;
  /** `ip -j addr show`. */
  addrs: string;
  /** `ipvsadm -Sn`, or its error. */
  ipvsSave: string;
  /** `ipvsadm -Ln`, or its error ("" when not asked). */
  ipvsList: string;
}

/** Pure: the probe's output in its parts. */
export function splitDirectorProbe(stdout: string): DirectorProbeOutput {
  const [active = "", addrs = "", ipvsSave = "", ipvsList = ""] = stdout.split(`${PROBE_MARK}\n`);
  return { active: active.trim(), addrs, ipvsSave, ipvsList };
}
