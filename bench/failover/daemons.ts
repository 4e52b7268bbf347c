// The two daemons under test, behind one small interface, with the same VRRP settings: one
// instance, VRID 51, initial state BACKUP on both directors, preemption on, the VIP as a /24 on
// eth0, no authentication, keepalived's gratuitous-ARP defaults (5 at once, 5 more after 5 s).
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { descendants, parseProcStat } from "./analyze.js";
import { Lab, NET_PREFIX, Proc, VIP } from "./lab.js";

export interface Setting {
  id: string;
  version: 2 | 3;
  intervalMs: number;
}

export const SETTINGS: readonly Setting[] = [
  { id: "v2/1s", version: 2, intervalMs: 1000 },
  { id: "v3/0.1s", version: 3, intervalMs: 100 },
];

export const VRID = 51;
export const PRIORITY = { a: 200, b: 100 } as const;
/** lvsd's status server listens on loopback inside each namespace. */
const STATUS_PORT = 19300;

export type DaemonName = "lvsd" | "keepalived";

export interface RunningDaemon {
  readonly proc: Proc;
  /** The daemon's processes now (the root and its descendants). */
  pids(): number[];
  /** After a crash: remove what a dead instance left that would stop a new one from starting
   * and that systemd's environment would not have left (see keepalived below). */
  afterCrash(): void;
}

export interface Daemon {
  readonly name: DaemonName;
  start(lab: Lab, host: "a" | "b", s: Setting): RunningDaemon;
}

/** pid -> ppid for every process now. */
function ppidMap(): Map<number, number> {
  const m = new Map<number, number>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = parseProcStat(readFileSync(`/proc/${e}/stat`, "utf8"));
      if (st) m.set(Number(e), st.ppid);
    } catch {
      /* gone meanwhile */
    }
  }
  return m;
}

export function processTree(root: number): number[] {
  const m = ppidMap();
  return m.has(root) ? descendants(root, m) : [];
}

// ---- lvsd -------------------------------------------------------------------------------------------------

/** lvsd's JSON config (src/daemon/config.ts) for one director. */
export function lvsdConfig(host: "a" | "b", s: Setting): unknown {
  return {
    version: 1,
    routerId: `bench_${host}`,
    statusPort: STATUS_PORT,
    instances: [
      {
        name: "VI_1",
        interface: "eth0",
        vrid: VRID,
        priority: PRIORITY[host],
        state: "BACKUP",
        version: s.version,
        advertIntervalCs: s.intervalMs / 10,
        unicastPeers: [],
        vips: [{ address: VIP, prefix: NET_PREFIX, dev: "eth0" }],
        nopreempt: false,
        preemptDelaySec: 0,
        trackInterfaces: [],
        // keepalived's defaults: garp_master_delay 5, garp_master_repeat 5, garp_master_refresh 0
        garp: { masterDelaySec: 5, masterRepeat: 5, masterRefreshSec: 0 },
        notify: {},
      },
    ],
    syncGroups: [],
    services: [],
  };
}

export function lvsd(bundle: string): Daemon {
  return {
    name: "lvsd",
    start(lab, host, s) {
      const file = join(lab.dir, `lvsd-${host}.json`);
      writeFileSync(file, JSON.stringify(lvsdConfig(host, s)));
      const proc = new Proc(lab, lab.ns(host), [process.execPath, bundle, "--config", file]);
      return { proc, pids: () => (proc.running ? processTree(proc.pid) : []), afterCrash: () => undefined };
    },
  };
}

// ---- keepalived -------------------------------------------------------------------------------------------

/** keepalived.conf(5) with the same settings as lvsdConfig. */
export function keepalivedConf(host: "a" | "b", s: Setting): string {
  return `global_defs {
  router_id bench_${host}
  vrrp_version ${s.version}
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id ${VRID}
  priority ${PRIORITY[host]}
  advert_int ${s.intervalMs / 1000}
  garp_master_delay 5
  garp_master_repeat 5
  virtual_ipaddress {
    ${VIP}/${NET_PREFIX} dev eth0
  }
}
`;
}

export function keepalived(binary: string): Daemon {
  return {
    name: "keepalived",
    start(lab, host, s) {
      const base = join(lab.dir, `ka-${host}`);
      writeFileSync(`${base}.conf`, keepalivedConf(host, s));
      // --vrrp: only the VRRP child; -n: stay in the foreground; -l -D: detailed log on stderr
      const proc = new Proc(lab, lab.ns(host), [binary, "--vrrp", "-n", "-l", "-D", "-f", `${base}.conf`, "-p", `${base}.pid`, "-r", `${base}.vrrp.pid`]);
      // A killed keepalived's orphaned VRRP child stays a zombie until PID 1 reaps it, and a
      // keepalived started meanwhile finds the pid in its pid file alive, says "daemon is already
      // running" and exits. systemd reaps at once; this machine's PID 1 took 1-1.5 s. The zombie
      // holds nothing (no sockets, no memory), so the stale pid files are removed instead of
      // waiting, and the restart comes when systemd's would.
      const afterCrash = () => {
        for (const f of [`${base}.pid`, `${base}.vrrp.pid`]) rmSync(f, { force: true });
      };
      return { proc, pids: () => (proc.running ? processTree(proc.pid) : []), afterCrash };
    },
  };
}

// ---- resources ----------------------------------------------------------------------------------------------

/** Sum of utime + stime (clock ticks) over the pids, all threads included (proc(5)). */
export function cpuTicks(pids: readonly number[]): number {
  let t = 0;
  for (const p of pids) {
    try {
      t += parseProcStat(readFileSync(`/proc/${p}/stat`, "utf8"))?.cpuTicks ?? 0;
    } catch {
      /* gone */
    }
  }
  return t;
}

/** Time on CPU (ns) of every thread of the pids, from the scheduler's account (first field of
 * /proc/PID/task/TID/schedstat; finer than the 10 ms ticks of utime + stime). */
export function runNs(pids: readonly number[]): number {
  let t = 0;
  for (const p of pids) {
    try {
      for (const tid of readdirSync(`/proc/${p}/task`)) t += Number(readFileSync(`/proc/${p}/task/${tid}/schedstat`, "utf8").split(" ")[0]) || 0;
    } catch {
      /* gone */
    }
  }
  return t;
}

/** An abrupt end of every process at once, so no clean-up code runs anywhere: all are stopped
 * first (a keepalived parent cannot respawn its child, a child cannot act on its parent's death
 * signal), then killed. */
export function crashAll(pids: readonly number[]): void {
  killAll(pids, "SIGSTOP");
  killAll(pids, "SIGKILL");
}

/** Signal every pid, the root first (a keepalived parent that outlives its killed VRRP child
 * would fork a new one), ignoring those already gone. */
export function killAll(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch {
      /* gone */
    }
  }
}
