// A discrete-event simulation of several VRRP routers (one instance each) driven by the pure
// step() function over a fake network with partitions. Time is simulated: a run of minutes takes
// milliseconds. Used by sim.test.ts (scenarios and a fast-check property).
import { initialState, step, type Effect, type InstanceState, type TimerName, type VrrpEvent } from "../../../../src/daemon/vrrp/state.js";
import type { VrrpParams } from "../../../../src/daemon/vrrp/types.js";

interface QItem {
  at: number;
  seq: number;
  node: number;
  kind: "timer" | "deliver";
  timer?: TimerName;
  deadline?: number;
  event?: VrrpEvent;
}

export interface SimNode {
  params: VrrpParams;
  state: InstanceState;
  /** false after a clean shutdown (until restarted). */
  running: boolean;
  /** Link state of the node's interface (false = cable cut on its side: the node sees link down). */
  linkUp: boolean;
  /** VIPs currently installed (what addVips/removeVips did). */
  vipsOn: boolean;
  log: Array<{ at: number; from: string; to: string; reason: string }>;
  advertsSent: number;
  /** Times at which the node sent a gratuitous ARP burst. */
  garps: number[];
}

export class Sim {
  now = 0;
  readonly nodes: SimNode[];
  /** Partition: nodes talk only within the same component id. */
  component: number[];
  latencyMs = 1;
  private q: QItem[] = [];
  private seq = 0;

  constructor(params: VrrpParams[]) {
    this.nodes = params.map((p) => ({ params: p, state: initialState(p), running: false, linkUp: true, vipsOn: false, log: [], advertsSent: 0, garps: [] }));
    this.component = params.map(() => 0);
  }

  /** Start (or restart after a clean stop) node i; `vipsPresent` models a crash restart. */
  start(i: number): void {
    const n = this.node(i);
    n.running = true;
    n.state = initialState(n.params);
    this.dispatch(i, { type: "startup", vipsPresent: n.vipsOn, linksDown: n.linkUp ? [] : [n.params.interface] });
  }

  stop(i: number): void {
    this.dispatch(i, { type: "shutdown" });
    this.node(i).running = false;
  }

  /** SIGKILL: the process vanishes, VIPs stay, nothing is sent. */
  crash(i: number): void {
    const n = this.node(i);
    n.running = false;
    n.state = initialState(n.params);
  }

  setLink(i: number, up: boolean): void {
    const n = this.node(i);
    n.linkUp = up;
    if (n.running) this.dispatch(i, { type: up ? "linkUp" : "linkDown", ifname: n.params.interface });
  }

  partition(components: number[]): void {
    this.component = [...components];
  }
  heal(): void {
    this.component = this.nodes.map(() => 0);
  }

  node(i: number): SimNode {
    const n = this.nodes[i];
    if (!n) throw new Error(`no node ${i}`);
    return n;
  }

  connected(a: number, b: number): boolean {
    return a !== b && this.component[a] === this.component[b] && this.node(a).linkUp && this.node(b).linkUp;
  }

  dispatch(i: number, ev: VrrpEvent): void {
    const n = this.node(i);
    if (!n.running) return;
    const r = step(n.state, ev, this.now);
    n.state = r.next;
    for (const e of r.effects) this.apply(i, e);
  }

  private apply(i: number, e: Effect): void {
    const n = this.node(i);
    switch (e.kind) {
      case "setTimer":
        this.push({ at: e.at, node: i, kind: "timer", timer: e.timer, deadline: e.at });
        break;
      case "sendAdvert":
        n.advertsSent++;
        if (!n.linkUp) break;
        for (let j = 0; j < this.nodes.length; j++) {
          if (!this.connected(i, j)) continue;
          const advert = { priority: e.priority, source: n.params.primaryIp, version: n.params.version, intervalMs: n.params.advertIntervalMs };
          this.push({ at: this.now + this.latencyMs, node: j, kind: "deliver", event: { type: "advert", advert } });
        }
        break;
      case "addVips":
        n.vipsOn = true;
        break;
      case "removeVips":
        n.vipsOn = false;
        break;
      case "garp":
        n.garps.push(this.now);
        break;
      case "transition":
        n.log.push({ at: this.now, from: e.from, to: e.to, reason: e.reason });
        break;
      default:
        break;
    }
  }

  private push(item: Omit<QItem, "seq">): void {
    this.q.push({ ...item, seq: this.seq++ });
  }

  /** Advance simulated time to `until`, processing every event due; calls `probe` after each. */
  runUntil(until: number, probe?: (sim: Sim) => void): void {
    for (;;) {
      let best = -1;
      for (let k = 0; k < this.q.length; k++) {
        const a = this.q[k]!;
        const b = best >= 0 ? this.q[best]! : undefined;
        if (a.at <= until && (!b || a.at < b.at || (a.at === b.at && a.seq < b.seq))) best = k;
      }
      if (best < 0) break;
      const item = this.q.splice(best, 1)[0]!;
      this.now = Math.max(this.now, item.at);
      const n = this.node(item.node);
      if (item.kind === "timer") {
        // a timer is live only if the node still has it armed at that deadline (driver semantics)
        if (!n.running || n.state.timers[item.timer!] !== item.deadline) continue;
        this.dispatch(item.node, { type: "timer", timer: item.timer! });
      } else {
        // delivery checks connectivity at arrival time too (a cut during flight drops it)
        if (!n.running || !n.linkUp) continue;
        this.dispatch(item.node, item.event!);
      }
      probe?.(this);
    }
    this.now = Math.max(this.now, until);
  }

  advance(ms: number, probe?: (sim: Sim) => void): void {
    this.runUntil(this.now + ms, probe);
  }

  masters(): number[] {
    return this.nodes.flatMap((n, i) => (n.running && n.state.state === "MASTER" ? [i] : []));
  }

  /** Components of running nodes with their link up; each must have exactly one master. */
  liveComponents(): number[][] {
    const live = this.nodes.flatMap((n, i) => (n.running && n.linkUp ? [i] : []));
    const byComp = new Map<number, number[]>();
    for (const i of live) {
      const c = this.component[i]!;
      byComp.set(c, [...(byComp.get(c) ?? []), i]);
    }
    return [...byComp.values()];
  }

  /** The time node i last entered `to`, or undefined. */
  lastEntered(i: number, to: string): number | undefined {
    const l = this.node(i).log.filter((e) => e.to === to);
    return l[l.length - 1]?.at;
  }
}
