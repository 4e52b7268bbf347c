// Two- and three-router simulations of the pure state machine over a fake network.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Sim } from "./sim.js";
import { params } from "./helpers.js";
import { masterDownMs, skewMs } from "../../../../src/daemon/vrrp/timers.js";
import { type VrrpParams } from "../../../../src/daemon/vrrp/types.js";

const A = (o: Partial<VrrpParams> = {}) => params({ name: "VI_1", priority: 200, primaryIp: "10.88.0.2", ...o });
const B = (o: Partial<VrrpParams> = {}) => params({ name: "VI_1", priority: 100, primaryIp: "10.88.0.3", ...o });
const C = (o: Partial<VrrpParams> = {}) => params({ name: "VI_1", priority: 50, primaryIp: "10.88.0.4", ...o });

function startAll(sim: Sim): void {
  sim.nodes.forEach((_, i) => sim.start(i));
}

/** Records every instant at which more than one running router was master. */
function dualMasterProbe(): { probe: (s: Sim) => void; windows: Array<[number, number[]]> } {
  const windows: Array<[number, number[]]> = [];
  return {
    windows,
    probe: (s) => {
      const m = s.masters();
      if (m.length > 1) windows.push([s.now, m]);
    },
  };
}

test("sim: two routers elect the higher priority; the other never becomes master", () => {
  const sim = new Sim([A(), B()]);
  startAll(sim);
  const dm = dualMasterProbe();
  sim.advance(10_000, dm.probe);
  assert.deepEqual(sim.masters(), [0]);
  assert.equal(sim.lastEntered(0, "MASTER"), masterDownMs(200, 1000));
  assert.equal(sim.lastEntered(1, "MASTER"), undefined);
  assert.deepEqual(dm.windows, []);
  assert.equal(sim.node(0).vipsOn, true);
  assert.equal(sim.node(1).vipsOn, false);
});

test("sim: master's link cut -> backup takes over within 3*interval + skew; link back -> preempts", () => {
  const sim = new Sim([A(), B()]);
  startAll(sim);
  sim.advance(10_000);
  const cut = sim.now + 500; // between two adverts
  sim.advance(500);
  sim.setLink(0, false);
  assert.equal(sim.node(0).state.state, "FAULT");
  sim.advance(10_000);
  assert.deepEqual(sim.masters(), [1]);
  const took = sim.lastEntered(1, "MASTER")! - cut;
  assert.ok(took <= masterDownMs(100, 1000) && took >= masterDownMs(100, 1000) - 1000, `took ${took}`);
  sim.setLink(0, true);
  sim.advance(10_000);
  assert.deepEqual(sim.masters(), [0]);
  assert.equal(sim.node(1).vipsOn, false);
});

test("sim: clean stop hands over in the skew time (priority 0)", () => {
  const sim = new Sim([A(), B()]);
  startAll(sim);
  sim.advance(10_000);
  const t0 = sim.now;
  sim.stop(0);
  assert.equal(sim.node(0).vipsOn, false);
  sim.advance(5000);
  assert.deepEqual(sim.masters(), [1]);
  assert.equal(sim.lastEntered(1, "MASTER")! - t0, sim.latencyMs + skewMs(100, 1000));
});

test("sim: preemption: a higher router restarted takes over; with nopreempt it does not", () => {
  for (const nopreempt of [false, true]) {
    const sim = new Sim([A({ nopreempt }), B()]);
    startAll(sim);
    sim.advance(10_000);
    sim.stop(0);
    sim.advance(5000);
    assert.deepEqual(sim.masters(), [1]);
    sim.start(0);
    const dm = dualMasterProbe();
    sim.advance(20_000, dm.probe);
    assert.deepEqual(sim.masters(), nopreempt ? [1] : [0], `nopreempt=${nopreempt}`);
    // the handover overlaps for at most the network latency
    for (const [at] of dm.windows) assert.ok(at - dm.windows[0]![0] <= sim.latencyMs);
  }
});

test("sim: preempt_delay postpones the takeover by about the delay", () => {
  const sim = new Sim([A({ preemptDelayMs: 10_000 }), B()]);
  sim.start(1);
  sim.advance(10_000);
  const t0 = sim.now;
  sim.start(0);
  sim.advance(30_000);
  assert.deepEqual(sim.masters(), [0]);
  const after = sim.lastEntered(0, "MASTER")! - t0;
  assert.ok(after >= 10_000 && after <= 10_000 + masterDownMs(200, 1000) + 1000, `took over after ${after}`);
});

test("sim: split brain heals: the lower master steps down within one interval and the winner re-announces", () => {
  const sim = new Sim([A(), B()]);
  startAll(sim);
  sim.advance(10_000);
  sim.partition([0, 1]);
  sim.advance(10_000);
  assert.deepEqual(sim.masters(), [0, 1]);
  const healAt = sim.now;
  sim.heal();
  sim.advance(5000);
  assert.deepEqual(sim.masters(), [0]);
  const stepDown = sim.lastEntered(1, "BACKUP")! - healAt;
  assert.ok(stepDown <= 1000 + sim.latencyMs, `stepped down after ${stepDown}`);
  // whichever advert crossed first, the winner re-announced with gratuitous ARP
  assert.ok(sim.node(0).garps.some((t) => t >= healAt), "no re-announcement after the heal");
});

test("sim: equal priorities are broken by the higher primary address", () => {
  const sim = new Sim([A({ priority: 100 }), B({ priority: 100 })]);
  startAll(sim);
  sim.advance(10_000);
  assert.deepEqual(sim.masters(), [1]); // 10.88.0.3 > 10.88.0.2
});

test("sim: three routers: when the master dies, the next priority wins (skew ordering)", () => {
  const sim = new Sim([A(), B(), C()]);
  startAll(sim);
  sim.advance(10_000);
  assert.deepEqual(sim.masters(), [0]);
  sim.setLink(0, false);
  const dm = dualMasterProbe();
  sim.advance(10_000, dm.probe);
  assert.deepEqual(sim.masters(), [1]);
  assert.equal(sim.lastEntered(2, "MASTER"), undefined);
  assert.deepEqual(dm.windows, []);
});

test("sim: v3 at 100 ms: link cut fails over in about 3*0.1 s + skew", () => {
  const v3 = { version: 3 as const, advertIntervalMs: 100 };
  const sim = new Sim([A(v3), B(v3)]);
  startAll(sim);
  sim.advance(2000);
  const t0 = sim.now;
  sim.setLink(0, false);
  sim.advance(2000);
  assert.deepEqual(sim.masters(), [1]);
  const took = sim.lastEntered(1, "MASTER")! - t0;
  assert.ok(took <= masterDownMs(100, 100), `took ${took}`);
});

test("sim: SIGKILL on the master then restart: VIP never leaves, no second master", () => {
  for (const downFor of [200, 1500, 3000]) {
    const sim = new Sim([A(), B()]);
    startAll(sim);
    sim.advance(10_300);
    sim.crash(0);
    assert.equal(sim.node(0).vipsOn, true);
    sim.advance(downFor);
    sim.start(0);
    const dm = dualMasterProbe();
    const vipGone: number[] = [];
    sim.advance(10_000, (s) => {
      dm.probe(s);
      if (!s.node(0).vipsOn) vipGone.push(s.now);
    });
    assert.deepEqual(sim.masters(), [0], `down ${downFor}`);
    assert.deepEqual(vipGone, []);
    assert.deepEqual(dm.windows, [], `down ${downFor}`);
    assert.equal(sim.lastEntered(1, "MASTER"), undefined, `down ${downFor}`);
  }
});

test("sim: a crash longer than master-down: backup takes over; the restarted master's adoption overlaps at most one advert", () => {
  const sim = new Sim([A(), B()]);
  startAll(sim);
  sim.advance(10_000);
  sim.crash(0);
  sim.advance(6000);
  assert.deepEqual(sim.masters(), [1]);
  sim.start(0);
  const dm = dualMasterProbe();
  sim.advance(10_000, dm.probe);
  assert.deepEqual(sim.masters(), [0]);
  const span = dm.windows.length ? dm.windows[dm.windows.length - 1]![0] - dm.windows[0]![0] : 0;
  assert.ok(span <= 1000 + sim.latencyMs, `dual master for ${span} ms`);
});

/** Runs `ms` and records, after every event, who is master and whose VIPs are on. */
function watch(sim: Sim, ms: number): { dual: number[]; none: number[]; vipsOff: Map<number, number[]> } {
  const dual: number[] = [];
  const none: number[] = [];
  const vipsOff = new Map<number, number[]>();
  sim.advance(ms, (s) => {
    const m = s.masters();
    if (m.length > 1) dual.push(s.now);
    if (m.length === 0) none.push(s.now);
    s.nodes.forEach((n, i) => {
      if (!n.vipsOn) vipsOff.set(i, [...(vipsOff.get(i) ?? []), s.now]);
    });
  });
  return { dual, none, vipsOff };
}

for (const timing of [{ version: 2 as const, advertIntervalMs: 1000 }, { version: 3 as const, advertIntervalMs: 100 }]) {
  const I = timing.advertIntervalMs;
  const label = `v${timing.version} ${I} ms`;

  test(`sim (${label}): nopreempt, SIGKILL on the master after the backup took over: the backup keeps the VIPs, the restarted one ends BACKUP, never no master`, () => {
    const sim = new Sim([A({ nopreempt: true, ...timing }), B({ nopreempt: true, ...timing })]);
    startAll(sim);
    sim.advance(10 * I + I / 3);
    assert.deepEqual(sim.masters(), [0]);
    sim.crash(0);
    sim.advance(6 * I);
    assert.deepEqual(sim.masters(), [1]);
    assert.equal(sim.node(0).vipsOn, true, "SIGKILL leaves the VIPs on the interface");
    const restartAt = sim.now;
    sim.start(0);
    const w = watch(sim, 30 * I);
    assert.deepEqual(sim.masters(), [1], label);
    assert.equal(sim.node(0).state.state, "BACKUP", label);
    assert.equal(sim.node(0).vipsOn, false, `${label}: the restarted one removed the VIPs it adopted`);
    assert.deepEqual(w.none, [], `${label}: a time with no master`);
    assert.equal(w.vipsOff.get(1), undefined, `${label}: the master's VIPs left it`);
    // the adoption's inherent moment: the restarted one is master until the live master's answer arrives
    assert.ok(w.dual.every((t) => t - restartAt <= 2 * sim.latencyMs), `${label}: dual master at ${w.dual.map((t) => t - restartAt)}`);
    assert.ok(sim.lastEntered(1, "BACKUP")! < restartAt, `${label}: the live master stepped down`);
  });

  test(`sim (${label}): nopreempt, fast restart before the backup took over: the restarted one keeps the VIPs`, () => {
    for (const downFor of [I / 5, I, 2 * I]) {
      const sim = new Sim([A({ nopreempt: true, ...timing }), B({ nopreempt: true, ...timing })]);
      startAll(sim);
      sim.advance(10 * I + I / 3);
      sim.crash(0);
      sim.advance(downFor);
      sim.start(0);
      const w = watch(sim, 30 * I);
      assert.deepEqual(sim.masters(), [0], `${label} down ${downFor}`);
      assert.deepEqual(w.dual, [], `${label} down ${downFor}`);
      assert.deepEqual(w.none, [], `${label} down ${downFor}`);
      assert.equal(w.vipsOff.get(0), undefined, `${label} down ${downFor}: the VIPs left the restarted master`);
      assert.equal(sim.lastEntered(1, "MASTER"), undefined, `${label} down ${downFor}`);
    }
  });

  test(`sim (${label}): nopreempt, three routers: the restarted top one yields to the one that took over; the third never moves`, () => {
    const sim = new Sim([A({ nopreempt: true, ...timing }), B({ nopreempt: true, ...timing }), C({ nopreempt: true, ...timing })]);
    startAll(sim);
    sim.advance(10 * I + I / 3);
    sim.crash(0);
    sim.advance(6 * I);
    assert.deepEqual(sim.masters(), [1]);
    sim.start(0);
    const w = watch(sim, 30 * I);
    assert.deepEqual(sim.masters(), [1], label);
    assert.deepEqual(w.none, [], label);
    assert.equal(w.vipsOff.get(1), undefined, label);
    assert.equal(sim.lastEntered(2, "MASTER"), undefined, label);
  });
}

test("sim: nopreempt adoption against a priority-1 master that took over: one master throughout, whichever address is higher", () => {
  for (const peerIp of ["10.88.0.3", "10.88.0.1"]) {
    const sim = new Sim([A({ nopreempt: true }), B({ nopreempt: true, priority: 1, primaryIp: peerIp })]);
    startAll(sim);
    sim.advance(10_300);
    sim.crash(0);
    sim.advance(6000);
    assert.deepEqual(sim.masters(), [1]);
    const restartAt = sim.now;
    sim.start(0);
    const w = watch(sim, 30_000);
    // the tie at 1 goes to the higher address, as in any election (the lower one hands over)
    assert.deepEqual(sim.masters(), peerIp === "10.88.0.3" ? [1] : [0], peerIp);
    assert.deepEqual(w.none, [], peerIp);
    assert.ok(w.dual.every((t) => t - restartAt <= 2 * sim.latencyMs), `${peerIp}: dual master at ${w.dual.map((t) => t - restartAt)}`);
  }
});

// ---- property: after convergence there is exactly one master per connected group -------------

type Action =
  | { a: "partition"; comps: number[] }
  | { a: "heal" }
  | { a: "link"; i: number; up: boolean }
  | { a: "stop"; i: number }
  | { a: "start"; i: number }
  | { a: "crash"; i: number };

function applyAction(sim: Sim, act: Action): void {
  const n = sim.nodes.length;
  switch (act.a) {
    case "partition":
      sim.partition(act.comps.slice(0, n));
      break;
    case "heal":
      sim.heal();
      break;
    case "link":
      sim.setLink(act.i % n, act.up);
      break;
    case "stop":
      if (sim.node(act.i % n).running) sim.stop(act.i % n);
      break;
    case "start":
      if (!sim.node(act.i % n).running) sim.start(act.i % n);
      break;
    case "crash":
      if (sim.node(act.i % n).running) sim.crash(act.i % n);
      break;
  }
}

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ a: fc.constant("partition" as const), comps: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 3, maxLength: 3 }) }),
  fc.record({ a: fc.constant("heal" as const) }),
  fc.record({ a: fc.constant("link" as const), i: fc.nat(2), up: fc.boolean() }),
  fc.record({ a: fc.constant("stop" as const), i: fc.nat(2) }),
  fc.record({ a: fc.constant("start" as const), i: fc.nat(2) }),
  fc.record({ a: fc.constant("crash" as const), i: fc.nat(2) }),
);

function checkConverged(sim: Sim, preemptEverywhere: boolean, label: string): void {
  for (const comp of sim.liveComponents()) {
    const masters = comp.filter((i) => sim.node(i).state.state === "MASTER");
    assert.equal(masters.length, 1, `${label}: component [${comp}] has masters [${masters}] at ${sim.now}`);
    if (preemptEverywhere) {
      // The master has the highest priority in its group. Among equal priorities the address breaks
      // the tie only in an election; a backup does not preempt a master of its own priority (RFC
      // 5798 6.4.2: an advert whose priority is >= its own resets its down timer; keepalived too).
      const top = Math.max(...comp.map((i) => sim.node(i).params.priority));
      assert.equal(sim.node(masters[0]!).params.priority, top, `${label}: master ${masters[0]} has priority ${sim.node(masters[0]!).params.priority}, not the group's highest ${top}`);
    }
  }
  for (const [i, n] of sim.nodes.entries()) {
    if (n.state.state === "MASTER") assert.ok(n.running && n.linkUp, `${label}: node ${i} master while down`);
  }
}

for (const nopreempt of [false, true]) {
  test(`property: exactly one master per connected group after any partitions/heals/stops/crashes (nopreempt=${nopreempt})`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 3 }),
        fc.array(fc.integer({ min: 1, max: 254 }), { minLength: 3, maxLength: 3 }),
        fc.constantFrom({ version: 2 as const, advertIntervalMs: 1000 }, { version: 3 as const, advertIntervalMs: 100 }),
        fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        fc.array(fc.tuple(actionArb, fc.integer({ min: 0, max: 3000 })), { minLength: 1, maxLength: 8 }),
        (n, prios, timing, nop, actions) => {
          const ps = Array.from({ length: n }, (_, i) =>
            params({ priority: prios[i]!, primaryIp: `10.88.0.${i + 2}`, nopreempt: nopreempt && nop[i]!, ...timing }),
          );
          const sim = new Sim(ps);
          startAll(sim);
          const I = timing.advertIntervalMs;
          const settle = 5 * I; // worst case: master-down (< 4 I) plus one advert exchange
          sim.advance(settle);
          checkConverged(sim, !nopreempt, "initial");
          for (const [k, [act, gap]] of actions.entries()) {
            applyAction(sim, act);
            sim.advance(settle + (gap * I) / 1000);
            // and it stays converged: check after every event over the next 3 intervals
            const label = `after action ${k} ${JSON.stringify(act)}`;
            checkConverged(sim, !nopreempt, label);
            sim.advance(3 * I, (s) => checkConverged(s, !nopreempt, label));
          }
        },
      ),
      { numRuns: 150 },
    );
  });
}
