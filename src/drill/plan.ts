// The drill's plan: for each director in turn, the commands that take it down and bring it back,
// and where each VRRP instance's VIPs should be meanwhile and afterwards. Pure: commands are values
// (src/command), decided from the inventory and who holds the VIPs when the drill starts.
//
// Modes (what a director's failure looks like to its peers):
//   stop  the daemon stopped cleanly (keepalived sends a priority-0 advert and drops its VIPs, so
//         a backup takes over after its skew time, RFC 5798 6.4.2);
//   kill  SIGKILL to every process of the daemon's unit, which stays dead until the drill starts
//         it again: no goodbye, the peers wait out the master down interval (3 adverts plus skew)
//         and take over, and the VIPs stay on the dead director's interface until the daemon
//         starts again. systemd would restart a unit with Restart=on-failure (lvsd's) at once, and
//         a restarted lvsd adopts the VIPs it finds, so a backup would take over late or never: the
//         drill would time systemd and Node's start-up, not a failover, and the two backends'
//         figures would not compare. So the drill first holds the restart with a runtime drop-in
//         (Restart=no under /run, gone at reboot anyway) and removes it when it brings the daemon
//         back, also after Ctrl-C, an error or a lost connection (the step's `up` commands);
//   crash SIGKILL as for kill, and systemd restarts the daemon by itself (the unit's own Restart=:
//         lvsd's on-failure, keepalived's unit has none, so it stays dead until the restore). A
//         restarted lvsd adopts the VIPs still on its interface: the VIPs need not move, and the
//         step watches for a while and reports whether a peer took them (movedMs) meanwhile;
//   link  the VRRP interfaces set down. SSH to the director may go with them, so the way back is
//         armed on the director first: a systemd timer that sets the links up again after
//         `linkDownSec`; the cut itself is a second timer one second later, so the command that
//         arms both returns before the link goes.
import { argv, sh, type Command } from "../command/index.js";
import type { Cluster, DirectorVrrpInstance } from "../inventory/model.js";
import { daemonUnit } from "../status/collect.js";

export type DrillMode = "stop" | "kill" | "crash" | "link";
export const DRILL_MODES: readonly DrillMode[] = ["stop", "kill", "crash", "link"];

/** A command of the plan with what it is for; `mayFail` ones are cleanup whose failure changes nothing. */
export interface DrillCommand {
  cmd: Command;
  describe: string;
  mayFail?: boolean;
  /** A down command that only prepares the failure (nothing fails yet): the step's clock starts after it. */
  prepares?: boolean;
}

export interface DrillStep {
  director: string;
  mode: DrillMode;
  /** The daemon's unit (keepalived.service or lvsd.service, by the inventory's backend). */
  unit: string;
  down: DrillCommand[];
  /** Brings it back; safe to run twice, and what a restore after an interrupt runs. */
  up: DrillCommand[];
  /** link: the director sets its links up by itself this long after the down commands returned. */
  selfRestoreMs?: number;
  /** Instances whose VIPs this director holds when its step starts: they must move (unless mustMove is false). */
  holds: string[];
  /** crash: the daemon restarts by itself and may keep its VIPs; the step watches instead of waiting for the move. */
  mustMove: boolean;
  /** instance -> the directors that may hold its VIPs while this one is down. */
  during: Record<string, string[]>;
  /** instance -> the directors that may hold its VIPs once this one is back (preempt: the highest priority; nopreempt: where it went). */
  after: Record<string, string[]>;
  /** crash: `after` for an instance no peer was seen holding while the daemon restarted by itself
   * (it kept them): with nopreempt they stay on this director; with preemption as `after`. */
  keptAfter?: Record<string, string[]>;
}

export interface DrillPlanOptions {
  mode: DrillMode;
  /** link: how long the links stay down, in whole seconds. */
  linkDownSec: number;
  /** Names the director's transient timers, so a second drill never meets the first one's. */
  runId: string;
  /** Only these directors, in this order (default: every director, inventory order). */
  only?: string[];
}

/**
 * A timer's AccuracySec defaults to one minute (systemd.timer(5)): systemd may fire it that late to
 * coalesce wake-ups, so the cut and the way back could fire together. The lab run showed it: the
 * link was down far shorter than asked and the VIP never moved.
 */
const TIMER_ACCURACY = "--timer-property=AccuracySec=100ms";

/**
 * The drop-in that holds systemd's restart of a killed daemon (systemd.unit(5): drop-ins under
 * /run/systemd/system/UNIT.d/ apply after a daemon-reload and vanish at reboot). One fixed name, so
 * a drill that could not remove it (lvsctl itself killed) is cleaned up by the next kill drill,
 * and a person can find it.
 */
export const KILL_DROP_IN = "lvsctl-drill-no-restart.conf";
export const killDropInDir = (unit: string) => `/run/systemd/system/${unit}.d`;
const KILL_DROP_IN_TEXT = ["# lvsctl drill --mode kill: the daemon stays dead until the drill starts it; the drill removes this file", "[Service]", "Restart=no"];

/** The two lead seconds of a link cut: the down timer fires 1 s after arming, the up timer linkDownSec later. */
export const LINK_CUT_DELAY_SEC = 1;

export { daemonUnit };

/** The directors that run an instance and their priority for it. */
function members(cluster: Cluster, instance: string): { name: string; inst: DirectorVrrpInstance }[] {
  return cluster.directors.flatMap((d) => {
    const inst = d.instances.find((i) => i.name === instance);
    return inst ? [{ name: d.host.name, inst }] : [];
  });
}

/** Who wins an election among `among` (highest priority; ties are broken by address on the wire, so any of the tied). */
function winners(cluster: Cluster, instance: string, among: (name: string) => boolean): string[] {
  const ms = members(cluster, instance).filter((m) => among(m.name));
  const top = Math.max(-1, ...ms.map((m) => m.inst.priority));
  return ms.filter((m) => m.inst.priority === top).map((m) => m.name);
}

/** A unit name systemd accepts: letters, digits and `-_.:` only. */
function unitWord(s: string): string {
  return s.replace(/[^A-Za-z0-9_.:-]/g, "_");
}

function commands(mode: DrillMode, unit: string, ifaces: string[], o: DrillPlanOptions, director: string): { down: DrillCommand[]; up: DrillCommand[]; selfRestoreMs?: number } {
  if (mode === "stop") {
    return {
      down: [{ cmd: argv("systemctl", "stop", unit), describe: `systemctl stop ${unit}` }],
      up: [{ cmd: argv("systemctl", "start", unit), describe: `systemctl start ${unit}` }],
    };
  }
  if (mode === "crash") {
    return {
      down: [{ cmd: argv("systemctl", "kill", "--signal=KILL", unit), describe: `systemctl kill --signal=KILL ${unit} (systemd may restart it)` }],
      // Restarted by systemd already, start is a no-op; a unit without Restart= is started here.
      up: [{ cmd: argv("systemctl", "start", unit), describe: `systemctl start ${unit}` }],
    };
  }
  if (mode === "kill") {
    const dir = killDropInDir(unit);
    const file = `${dir}/${KILL_DROP_IN}`;
    return {
      down: [
        { cmd: sh`mkdir -p ${dir} && printf '%s\\n' ${KILL_DROP_IN_TEXT} > ${file}`, describe: `hold systemd's restart of ${unit} (Restart=no in ${file})`, prepares: true },
        { cmd: argv("systemctl", "daemon-reload"), describe: "systemctl daemon-reload", prepares: true },
        { cmd: argv("systemctl", "kill", "--signal=KILL", unit), describe: `systemctl kill --signal=KILL ${unit}` },
      ],
      // The unit's own Restart= back before it starts; each is a no-op when already done.
      up: [
        { cmd: argv("rm", "-f", file), describe: `rm -f ${file}` },
        { cmd: argv("systemctl", "daemon-reload"), describe: "systemctl daemon-reload" },
        { cmd: argv("systemctl", "start", unit), describe: `systemctl start ${unit}` },
      ],
    };
  }
  const upAt = LINK_CUT_DELAY_SEC + o.linkDownSec;
  const name = (what: string, dev: string) => unitWord(`lvsctl-drill-${o.runId}-${what}-${dev}`);
  const down: DrillCommand[] = [];
  const up: DrillCommand[] = [];
  // The way back first: if arming the cut failed after this, the links still come up.
  for (const dev of ifaces) {
    down.push({ cmd: argv("systemd-run", "--collect", `--unit=${name("up", dev)}`, `--on-active=${upAt}s`, TIMER_ACCURACY, "ip", "link", "set", "dev", dev, "up"), describe: `on ${director}: ip link set dev ${dev} up in ${upAt} s (a timer on the director)` });
  }
  for (const dev of ifaces) {
    down.push({ cmd: argv("systemd-run", "--collect", `--unit=${name("down", dev)}`, `--on-active=${LINK_CUT_DELAY_SEC}s`, TIMER_ACCURACY, "ip", "link", "set", "dev", dev, "down"), describe: `on ${director}: ip link set dev ${dev} down in ${LINK_CUT_DELAY_SEC} s` });
  }
  // A restore before the cut fired must disarm it, or it would cut the link after the drill.
  for (const dev of ifaces) up.push({ cmd: argv("systemctl", "stop", `${name("down", dev)}.timer`), describe: `disarm the link cut of ${dev}`, mayFail: true });
  for (const dev of ifaces) up.push({ cmd: argv("ip", "link", "set", "dev", dev, "up"), describe: `ip link set dev ${dev} up` });
  for (const dev of ifaces) up.push({ cmd: argv("systemctl", "stop", `${name("up", dev)}.timer`), describe: `disarm the timer that sets ${dev} up`, mayFail: true });
  return { down, up, selfRestoreMs: upAt * 1000 };
}

/**
 * The steps, one per director. `holders` is who holds each instance's VIPs now (vrrp-state.ts
 * mastersNow): a director that holds an instance must lose it to the best of the others; one that
 * does not leaves it where it is. Afterwards, with preemption the instance returns to the highest
 * priority; with nopreempt (on the director coming back) it stays where it went.
 */
export function planDrill(cluster: Cluster, holders: Record<string, string[]>, o: DrillPlanOptions): DrillStep[] {
  const unit = daemonUnit(cluster);
  const names = o.only ?? cluster.directors.map((d) => d.host.name);
  return names.map((director) => {
    const d = cluster.directors.find((x) => x.host.name === director);
    if (!d) throw new Error(`${director} is not a director of the inventory`);
    const ifaces = [...new Set(d.instances.map((i) => i.interface))];
    const holds = d.instances.filter((i) => (holders[i.name] ?? []).includes(director)).map((i) => i.name);
    const during: Record<string, string[]> = {};
    const after: Record<string, string[]> = {};
    const keptAfter: Record<string, string[]> = {};
    for (const inst of d.instances) {
      const now = holders[inst.name] ?? [];
      during[inst.name] = holds.includes(inst.name) ? winners(cluster, inst.name, (n) => n !== director) : now;
      after[inst.name] = inst.nopreempt ? during[inst.name]! : winners(cluster, inst.name, () => true);
      keptAfter[inst.name] = inst.nopreempt ? now : after[inst.name]!;
    }
    const crash = o.mode === "crash";
    return { director, mode: o.mode, unit, ...commands(o.mode, unit, ifaces, o, director), holds, mustMove: !crash, during, after, ...(crash ? { keptAfter } : {}) };
  });
}
