// A simulated two-director cluster for the drill's runner: a virtual clock (time moves only when
// every pending promise has settled and the next timer is due), directors that answer the drill's
// commands (systemctl, systemd-run timers, ip link, the status probe) and a VRRP election good
// enough for the test: the highest priority among the directors whose daemon runs and whose link
// is up holds the VIPs, after a takeover delay when the holder left (priority-0 advert on a clean
// stop, master down interval otherwise). A SIGKILLed daemon leaves its VIPs on its interface.
import { Shell, type Command } from "../../../src/command/index.js";
import { clusterFrom } from "../../fixtures/plan/clusters.js";
import type { Cluster } from "../../../src/inventory/model.js";
import type { ExecResult } from "../../../src/ssh/types.js";
import { loopLoad, type DrillClient } from "../../../src/drill/index.js";

export function drillCluster(opts: { nopreempt?: boolean } = {}): Cluster {
  return clusterFrom(`
defaults: { user: root }
hosts:
  ds1: { address: 10.77.0.11 }
  ds2: { address: 10.77.0.12 }
groups:
  directors: { hosts: [ds1, ds2] }
vrrp_instances:
  - name: VI_web
    interface: eth0
    virtual_router_id: 51
    priority: 100
${opts.nopreempt ? "    state: BACKUP\n    nopreempt: true\n" : ""}    members: { ds1: { priority: 150 }, ds2: { priority: 100 } }
    virtual_ipaddress: [10.77.0.100/24]
virtual_servers:
  - vip: 10.77.0.100
    port: 80
    lb_algo: rr
    real_servers: [{ address: 10.77.0.21 }, { address: 10.77.0.22 }]
`);
}

export class VirtualClock {
  t = 0;
  private timers: { at: number; seq: number; resolve: () => void }[] = [];
  private seq = 0;
  private running = false;
  now = () => this.t;
  sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      this.timers.push({ at: this.t + Math.max(0, ms), seq: this.seq++, resolve });
      this.kick();
    });
  /** Advances to the next timer once everything else has settled (a macrotask turn). */
  private kick() {
    if (this.running) return;
    this.running = true;
    setImmediate(() => {
      this.running = false;
      if (!this.timers.length) return;
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift()!;
      this.t = Math.max(this.t, next.at);
      next.resolve();
      if (this.timers.length) this.kick();
    });
  }
}

interface Director {
  name: string;
  prio: number;
  active: boolean;
  link: boolean;
  /** Holds the VIP on its interface (a master, or a killed one that never let go). */
  holds: boolean;
  timers: { unit: string; at: number; run: () => void }[];
  /** The drill's no-restart drop-in: on disk, and loaded by a daemon-reload. */
  dropIn: { file: boolean; loaded: boolean };
}

const res = (stdout = "", code = 0, stderr = ""): ExecResult => ({ code, stdout: Buffer.from(stdout), stderr: Buffer.from(stderr) });

export class SimCluster {
  readonly d: Record<string, Director>;
  readonly log: string[] = [];
  /** The time the current holder left, and how long a backup waits before it takes over. */
  private leftAt: number | undefined;
  private takeoverMs = 0;
  /** How often the VIPs went to another director: a held connection survives none (no connection sync here). */
  moves = 0;
  /** Per host: exec throws while this says so (a lost connection). */
  unreachable: (host: string) => boolean = (h) => !this.d[h]!.link;
  onExec?: (host: string, words: string) => void;

  constructor(
    readonly clock: VirtualClock,
    /** restartMs: the unit has Restart=on-failure (lvsd's): systemd starts a killed daemon again this long after, and it adopts the VIPs it still holds. */
    private readonly opts: { nopreempt?: boolean; stopTakeoverMs?: number; deadTakeoverMs?: number; restartMs?: number } = {},
  ) {
    this.d = {
      ds1: { name: "ds1", prio: 150, active: true, link: true, holds: true, timers: [], dropIn: { file: false, loaded: false } },
      ds2: { name: "ds2", prio: 100, active: true, link: true, holds: false, timers: [], dropIn: { file: false, loaded: false } },
    };
  }

  /** Who answers for the VIP now (runs due timers and the election first). */
  holder(): string | undefined {
    this.tick();
    const live = Object.values(this.d).filter((x) => x.holds && x.active && x.link);
    return live[0]?.name;
  }

  private tick() {
    const now = this.clock.now();
    for (const x of Object.values(this.d)) {
      const due = x.timers.filter((t) => t.at <= now);
      x.timers = x.timers.filter((t) => t.at > now);
      for (const t of due) t.run();
    }
    const alive = Object.values(this.d).filter((x) => x.active && x.link);
    const current = alive.find((x) => x.holds);
    if (current) {
      this.leftAt = undefined;
      if (!this.opts.nopreempt) {
        const best = alive.reduce((a, b) => (b.prio > a.prio ? b : a));
        if (best !== current) {
          current.holds = false;
          best.holds = true;
          this.moves++;
        }
      }
      return;
    }
    if (!alive.length) return;
    this.leftAt ??= now;
    if (now - this.leftAt < this.takeoverMs) return;
    const best = alive.reduce((a, b) => (b.prio > a.prio ? b : a));
    best.holds = true;
    this.moves++;
    this.leftAt = undefined;
  }

  private lose(x: Director, takeoverMs: number) {
    this.tick();
    this.takeoverMs = takeoverMs;
    if (x.holds) this.leftAt = this.clock.now();
  }

  async exec(host: string, cmd: Command, _timeoutMs: number): Promise<ExecResult> {
    await Promise.resolve();
    this.tick();
    if (this.unreachable(host)) throw new Error(`${host}: connection lost`);
    const x = this.d[host]!;
    const words = cmd instanceof Shell ? cmd.shell : cmd.argv.join(" ");
    this.onExec?.(host, words);
    if (cmd instanceof Shell && words.includes("Restart=no")) {
      this.log.push(`${host}: write the no-restart drop-in`);
      x.dropIn.file = true;
      return res();
    }
    if (cmd instanceof Shell) {
      this.tick();
      if (!words.includes("ip -j addr show")) return res("", 127);
      const addrs = [{ family: "inet", local: x.name === "ds1" ? "10.77.0.11" : "10.77.0.12", prefixlen: 24 }, ...(x.holds ? [{ family: "inet", local: "10.77.0.100", prefixlen: 24 }] : [])];
      const ip = JSON.stringify([{ ifname: "eth0", addr_info: addrs }]);
      const ipvs = x.active ? "-A -t 10.77.0.100:80 -s rr\n-a -t 10.77.0.100:80 -r 10.77.0.21:80 -g -w 1\n-a -t 10.77.0.100:80 -r 10.77.0.22:80 -g -w 1\n" : "";
      const list = x.active ? "TCP  10.77.0.100:80 rr\n  -> 10.77.0.21:80  Route 1 0 0\n  -> 10.77.0.22:80  Route 1 0 0\n" : "";
      return res(`${x.active ? "active" : "inactive"}\n@@lvsctl-roll\n${ip}\n@@lvsctl-roll\n${ipvs}@@lvsctl-roll\n${list}`);
    }
    this.log.push(`${host}: ${words}`);
    const a = cmd.argv;
    if (a[0] === "systemctl" && a[1] === "stop" && a[2]!.endsWith(".timer")) {
      const before = x.timers.length;
      x.timers = x.timers.filter((t) => `${t.unit}.timer` !== a[2]);
      return res("", before === x.timers.length ? 5 : 0);
    }
    if (a[0] === "systemctl" && a[1] === "stop") {
      this.lose(x, this.opts.stopTakeoverMs ?? 600);
      x.active = false;
      x.holds = false;
      return res();
    }
    if (a[0] === "systemctl" && a[1] === "daemon-reload") {
      x.dropIn.loaded = x.dropIn.file;
      return res();
    }
    if (a[0] === "rm" && a[1] === "-f" && a[2]?.endsWith(".conf")) {
      x.dropIn.file = false;
      return res();
    }
    if (a[0] === "systemctl" && a[1] === "kill") {
      this.lose(x, this.opts.deadTakeoverMs ?? 3600);
      x.active = false; // the VIP stays on its interface
      if (this.opts.restartMs !== undefined && !x.dropIn.loaded) {
        x.timers.push({
          unit: "restart",
          at: this.clock.now() + this.opts.restartMs,
          run: () => {
            this.log.push(`${host}: systemd restarted the daemon`);
            x.active = true; // adopts the VIPs still on its interface: its adverts win (preempt), or it yields to a peer that took over (nopreempt)
            const master = Object.values(this.d).some((o) => o !== x && o.holds && o.active && o.link);
            if (x.holds && this.opts.nopreempt && master) x.holds = false;
            else if (x.holds) for (const o of Object.values(this.d)) if (o !== x) o.holds = false;
          },
        });
      }
      return res();
    }
    if (a[0] === "systemctl" && a[1] === "start") {
      x.active = true;
      x.holds = false; // keepalived drops stale VIPs when it starts
      this.tick();
      return res();
    }
    if (a[0] === "ip" && a[1] === "link" && a[a.length - 1] === "up") {
      x.link = true;
      this.tick();
      return res();
    }
    if (a[0] === "systemd-run") {
      const unit = a.find((w) => w.startsWith("--unit="))!.slice(7);
      const secs = Number(a.find((w) => w.startsWith("--on-active="))!.slice(12).replace(/s$/, ""));
      const up = a[a.length - 1] === "up";
      x.timers.push({
        unit,
        at: this.clock.now() + secs * 1000,
        run: () => {
          this.log.push(`${host}: timer ${unit} fired`);
          if (up) x.link = true;
          else {
            this.lose(x, this.opts.deadTakeoverMs ?? 3600);
            x.link = false;
            x.holds = false;
          }
        },
      });
      return res();
    }
    return res("", 1, `sim: unknown command ${words}`);
  }

  /** A client whose requests are answered while some director answers for the VIP. */
  client(): DrillClient {
    return {
      where: "sim",
      start: async () =>
        loopLoad(
          async () => {
            await this.clock.sleep(5);
            return this.holder() ? { ok: true } : { ok: false, error: "no answer" };
          },
          { intervalMs: 100, requestTimeoutMs: 1000, maxRequests: 100_000, maxMs: 600_000 },
          this.clock,
        ),
      hold: async (n) => {
        this.holder();
        const first = this.moves;
        return { opened: n, finish: async () => (this.holder(), { opened: n, survived: this.moves === first ? n : 0, notes: [] }) };
      },
    };
  }
}
