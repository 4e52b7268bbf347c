import { test } from "node:test";
import assert from "node:assert/strict";
import { initialState, step } from "../../../../src/daemon/vrrp/state.js";
import { masterDownMs, skewMs } from "../../../../src/daemon/vrrp/timers.js";
import { advert, adverts, kinds, params, run, startup, timer, transitions } from "./helpers.js";

test("timers: skew and master-down follow RFC 5798 §6.1 / keepalived", () => {
  assert.equal(skewMs(100, 1000), 609.375);
  assert.equal(masterDownMs(100, 1000), 3609.375);
  assert.equal(skewMs(254, 100), 0.78125);
  assert.equal(masterDownMs(1, 100), 300 + 99.609375);
});

test("startup: backup arms the master-down timer (3 * interval + skew)", () => {
  const { s, fx } = run(params(), [[startup(), 0]]);
  assert.equal(s.state, "BACKUP");
  assert.equal(s.timers.masterDown, 3609.375);
  assert.deepEqual(transitions(fx), ["INIT>BACKUP"]);
  assert.deepEqual(adverts(fx), []);
  assert.ok(fx.some((e) => e.kind === "notify" && e.state === "BACKUP"));
  assert.ok(!fx.some((e) => e.kind === "addVips" || e.kind === "removeVips"));
});

test("startup: initial state MASTER still starts BACKUP with the full master-down interval (§6.4.1, keepalived 2.2.7)", () => {
  const { s } = run(params({ initialState: "MASTER" }), [[startup(), 0]]);
  assert.equal(s.state, "BACKUP");
  assert.equal(s.timers.masterDown, 3609.375);
});

test("startup: the address owner (255) is master at once (§6.4.1)", () => {
  const { s, fx } = run(params({ priority: 255 }), [[startup(), 0]]);
  assert.equal(s.state, "MASTER");
  assert.deepEqual(adverts(fx), [255]);
  assert.deepEqual(kinds(fx), ["transition", "addVips", "sendAdvert", "garp", "setTimer:advert", "setTimer:garpRepeat", "notify"]);
});

test("startup with a tracked link down goes FAULT and never advertises", () => {
  const { s, fx } = run(params({ trackInterfaces: ["eth1"] }), [[startup(false, ["eth1"]), 0]]);
  assert.equal(s.state, "FAULT");
  assert.deepEqual(adverts(fx), []);
  assert.deepEqual(s.timers, {});
});

test("startup ignores untracked links that are down", () => {
  const { s } = run(params(), [[startup(false, ["eth9"]), 0]]);
  assert.equal(s.state, "BACKUP");
});

test("backup becomes master when the master-down timer fires: VIPs, advert, 5 GARP, repeat after 5 s", () => {
  const { s, fx } = run(params(), [
    [startup(), 0],
    [timer("masterDown"), 3610],
  ]);
  assert.equal(s.state, "MASTER");
  const garps = fx.filter((e) => e.kind === "garp");
  assert.deepEqual(garps.map((g) => (g.kind === "garp" ? g.count : 0)), [5]);
  assert.equal(s.timers.advert, 4610);
  assert.equal(s.timers.garpRepeat, 8610);
  const r = step(s, timer("garpRepeat"), 8610);
  assert.deepEqual(r.effects.filter((e) => e.kind === "garp").map((g) => (g.kind === "garp" ? g.count : 0)), [5]);
  assert.equal(r.next.timers.garpRepeat, undefined);
});

test("GARP counts and delay are configurable; zero means none", () => {
  const p = params({ garp: { initialCount: 2, repeatCount: 0, repeatDelayMs: 1000, lowerPrioCount: 0 } });
  const { s, fx } = run(p, [
    [startup(), 0],
    [timer("masterDown"), 4000],
  ]);
  assert.deepEqual(fx.filter((e) => e.kind === "garp").map((g) => (g.kind === "garp" ? g.count : 0)), [2]);
  assert.equal(s.timers.garpRepeat, undefined);
});

test("GARP refresh while master (keepalived garp_master_refresh): periodic, stops on leaving MASTER", () => {
  const p = params({ garp: { initialCount: 5, repeatCount: 0, repeatDelayMs: 5000, lowerPrioCount: 5, refreshMs: 60_000, refreshCount: 1 } });
  let { s } = run(p, [
    [startup(), 0],
    [timer("masterDown"), 4000],
  ]);
  assert.equal(s.timers.garpRefresh, 64_000);
  let r = step(s, timer("garpRefresh"), 64_000);
  assert.deepEqual(r.effects.filter((e) => e.kind === "garp").map((g) => (g.kind === "garp" ? g.count : 0)), [1]);
  assert.equal(r.next.timers.garpRefresh, 124_000);
  s = step(r.next, advert(200), 70_000).next;
  assert.equal(s.timers.garpRefresh, undefined);
});

test("master sends an advert on each advert timer and keeps cadence when late", () => {
  let { s } = run(params(), [
    [startup(), 0],
    [timer("masterDown"), 4000],
  ]);
  let r = step(s, timer("advert"), 5003); // fired 3 ms late
  assert.deepEqual(adverts(r.effects), [100]);
  assert.equal(r.next.timers.advert, 6000);
  s = r.next;
  r = step(s, timer("advert"), 9000); // very late: no burst of catch-up adverts
  assert.equal(r.next.timers.advert, 10000);
});

test("stale timer events (already cancelled) are ignored", () => {
  const { s } = run(params(), [[startup(), 0]]);
  const r = step(s, timer("advert"), 100);
  assert.deepEqual(r.effects, []);
  assert.equal(r.next, s);
});

test("backup: an advert with priority >= ours resets the master-down timer", () => {
  const { s } = run(params(), [
    [startup(), 0],
    [advert(150), 1000],
    [advert(100, "10.88.0.1"), 2000],
  ]);
  assert.equal(s.state, "BACKUP");
  assert.equal(s.timers.masterDown, 2000 + 3609.375);
  assert.deepEqual(s.master, { address: "10.88.0.1", priority: 100 });
});

test("backup with preempt: a lower-priority advert does NOT reset the timer, so we take over (§6.4.2)", () => {
  const { s, fx } = run(params({ priority: 150 }), [
    [startup(), 0],
    [advert(100), 1000],
    [advert(100), 2000],
  ]);
  assert.equal(s.state, "BACKUP");
  assert.equal(s.timers.masterDown, masterDownMs(150, 1000));
  const r = step(s, timer("masterDown"), masterDownMs(150, 1000));
  assert.equal(r.next.state, "MASTER");
  assert.ok(fx.some((e) => e.kind === "log" && /lower priority master/.test(e.msg)));
});

test("backup with nopreempt: any advert resets the timer, lower priority master is kept", () => {
  const { s } = run(params({ priority: 150, nopreempt: true }), [
    [startup(), 0],
    [advert(100), 3000],
  ]);
  assert.equal(s.timers.masterDown, 3000 + masterDownMs(150, 1000));
});

test("backup: priority 0 advert arms the timer for the skew only", () => {
  const { s } = run(params(), [
    [startup(), 0],
    [advert(120), 1000],
    [advert(0), 1500],
  ]);
  assert.equal(s.timers.masterDown, 1500 + 609.375);
  assert.equal(s.master, null);
});

test("v3 backup learns the master's advertised interval (RFC 5798 §6.4.2)", () => {
  const { s } = run(params({ version: 3, advertIntervalMs: 1000 }), [
    [startup(), 0],
    [advert(200, "10.88.0.9", 100, 3), 50],
  ]);
  assert.equal(s.masterAdverIntervalMs, 100);
  assert.equal(s.timers.masterDown, 50 + masterDownMs(100, 100));
});

test("v2 ignores the advertised interval for timers (checked by the filter instead)", () => {
  const { s } = run(params({ version: 2 }), [
    [startup(), 0],
    [advert(200, "10.88.0.9", 3000, 2), 50],
  ]);
  assert.equal(s.masterAdverIntervalMs, 1000);
});

test("preempt_delay: a lower master is tolerated until the delay is over, then we preempt", () => {
  const p = params({ priority: 150, preemptDelayMs: 10_000 });
  let { s } = run(p, [[startup(), 0]]);
  assert.equal(s.timers.preemptDelay, 10_000);
  // lower master heard within the delay: timer reset as if it were higher
  for (let t = 1000; t <= 9000; t += 1000) s = step(s, advert(100), t).next;
  assert.equal(s.timers.masterDown, 9000 + masterDownMs(150, 1000));
  s = step(s, timer("preemptDelay"), 10_000).next;
  // after the delay lower adverts are discarded, so the master-down timer runs out
  s = step(s, advert(100), 10_500).next;
  assert.equal(s.timers.masterDown, 9000 + masterDownMs(150, 1000));
  s = step(s, timer("masterDown"), 9000 + masterDownMs(150, 1000)).next;
  assert.equal(s.state, "MASTER");
});

test("preempt_delay restarts when a higher master is heard", () => {
  const p = params({ priority: 150, preemptDelayMs: 5000 });
  const { s } = run(p, [
    [startup(), 0],
    [advert(200), 4000],
  ]);
  assert.equal(s.preemptAt, 9000);
});

test("master: higher priority advert sends us to BACKUP and removes the VIPs (§6.4.3)", () => {
  const { s: m } = run(params(), [
    [startup(), 0],
    [timer("masterDown"), 4000],
  ]);
  const r = step(m, advert(150), 4200);
  assert.equal(r.next.state, "BACKUP");
  assert.deepEqual(kinds(r.effects), ["sendAdvert", "cancelTimer:advert", "cancelTimer:garpRepeat", "removeVips", "transition", "setTimer:masterDown", "notify"]);
  assert.equal(r.next.timers.advert, undefined);
  assert.equal(r.next.timers.masterDown, 4200 + 3609.375);
  // one parting advert at our own priority, so the winner re-announces (split brain healing)
  assert.deepEqual(adverts(r.effects), [100]);
});

test("master: equal priority, higher source address wins; lower address loses", () => {
  const { s: m } = run(params({ primaryIp: "10.88.0.5" }), [
    [startup(), 0],
    [timer("masterDown"), 4000],
  ]);
  assert.equal(step(m, advert(100, "10.88.0.6"), 4100).next.state, "BACKUP");
  const r = step(m, advert(100, "10.88.0.4"), 4100);
  assert.equal(r.next.state, "MASTER");
  assert.deepEqual(adverts(r.effects), [100]);
});

test("master: a lower-priority master heals split brain: advert at once plus GARP", () => {
  const { s: m } = run(params({ priority: 200 }), [
    [startup(), 0],
    [timer("masterDown"), 4000],
  ]);
  const r = step(m, advert(100), 4300);
  assert.equal(r.next.state, "MASTER");
  assert.deepEqual(adverts(r.effects), [200]);
  assert.ok(r.effects.some((e) => e.kind === "garp" && e.count === 5));
  assert.equal(r.next.timers.advert, 5300);
});

test("master: priority 0 from another router: advert now, re-arm (§6.4.3)", () => {
  const { s: m } = run(params(), [
    [startup(), 0],
    [timer("masterDown"), 4000],
  ]);
  const r = step(m, advert(0), 4500);
  assert.deepEqual(adverts(r.effects), [100]);
  assert.equal(r.next.timers.advert, 5500);
  assert.equal(r.next.state, "MASTER");
});

test("our own advert looped back is ignored", () => {
  const { s: m } = run(params(), [
    [startup(), 0],
    [timer("masterDown"), 4000],
  ]);
  const r = step(m, advert(100, "10.88.0.2"), 4500);
  assert.deepEqual(r.effects, []);
});

test("shutdown of a master: priority 0, VIPs removed, notify STOP, timers cancelled", () => {
  const { s: m } = run(params(), [
    [startup(), 0],
    [timer("masterDown"), 4000],
  ]);
  const r = step(m, { type: "shutdown" }, 5000);
  assert.equal(r.next.state, "STOPPED");
  assert.deepEqual(adverts(r.effects), [0]);
  assert.ok(r.effects.some((e) => e.kind === "removeVips"));
  assert.ok(r.effects.some((e) => e.kind === "notify" && e.state === "STOP"));
  assert.deepEqual(r.next.timers, {});
  // STOPPED is terminal
  assert.deepEqual(step(r.next, advert(200), 6000).effects, []);
});

test("shutdown of a backup sends nothing", () => {
  const { s } = run(params(), [[startup(), 0]]);
  const r = step(s, { type: "shutdown" }, 10);
  assert.deepEqual(adverts(r.effects), []);
  assert.ok(!r.effects.some((e) => e.kind === "removeVips"));
});

test("link down on a master: FAULT, priority 0, VIPs removed; link up: BACKUP", () => {
  const p = params({ trackInterfaces: ["eth1"] });
  const { s: m } = run(p, [
    [startup(), 0],
    [timer("masterDown"), 4000],
  ]);
  let r = step(m, { type: "linkDown", ifname: "eth1" }, 4500);
  assert.equal(r.next.state, "FAULT");
  assert.deepEqual(adverts(r.effects), [0]);
  assert.ok(r.effects.some((e) => e.kind === "removeVips"));
  assert.ok(r.effects.some((e) => e.kind === "notify" && e.state === "FAULT"));
  // adverts are ignored in FAULT
  assert.deepEqual(step(r.next, advert(10), 4600).effects, []);
  // the own interface is tracked too
  r = step(r.next, { type: "linkDown", ifname: "eth0" }, 4700);
  r = step(r.next, { type: "linkUp", ifname: "eth1" }, 4800);
  assert.equal(r.next.state, "FAULT");
  r = step(r.next, { type: "linkUp", ifname: "eth0" }, 4900);
  assert.equal(r.next.state, "BACKUP");
  assert.equal(r.next.timers.masterDown, 4900 + 3609.375);
});

test("link down of an untracked interface changes nothing", () => {
  const { s } = run(params(), [[startup(), 0]]);
  assert.deepEqual(step(s, { type: "linkDown", ifname: "eth7" }, 10).effects, []);
});

test("address owner leaving FAULT goes straight to MASTER", () => {
  const { s } = run(params({ priority: 255 }), [
    [startup(false, ["eth0"]), 0],
    [{ type: "linkUp", ifname: "eth0" }, 100],
  ]);
  assert.equal(s.state, "MASTER");
});

test("adoption: VIPs present at startup resume MASTER at once without removing them", () => {
  const { s, fx } = run(params(), [[startup(true), 0]]);
  assert.equal(s.state, "MASTER");
  assert.deepEqual(adverts(fx), [100]);
  assert.ok(!fx.some((e) => e.kind === "removeVips"));
  assert.equal(s.adoptedUntil, 3609.375);
});

test("adoption: a higher master heard within one interval wins, we step down", () => {
  const { s } = run(params(), [
    [startup(true), 0],
    [advert(150), 800],
  ]);
  assert.equal(s.state, "BACKUP");
});

test("adoption with nopreempt yields to a lower master that took over meanwhile", () => {
  const p = params({ priority: 150, nopreempt: true });
  const { s } = run(p, [
    [startup(true), 0],
    [advert(100), 500],
  ]);
  assert.equal(s.state, "BACKUP");
  // but after the adoption window a lower master is treated normally (re-assert)
  const { s: s2 } = run(p, [
    [startup(true), 0],
    [advert(100), 10_000],
  ]);
  assert.equal(s2.state, "MASTER");
});

test("adoption with nopreempt advertises priority 1 for the adoption window, its own priority after", () => {
  const p = params({ priority: 150, nopreempt: true });
  const { s, fx } = run(p, [
    [startup(true), 0],
    [timer("advert"), 1000],
    [timer("advert"), 2000],
    [timer("advert"), 3000],
    [timer("advert"), 4000],
  ]);
  assert.equal(s.state, "MASTER");
  assert.equal(s.adoptedUntil, masterDownMs(150, 1000));
  assert.deepEqual(adverts(fx), [1, 1, 1, 1, 150]);
  // without nopreempt the adoption advertises the real priority from the start (unchanged)
  assert.deepEqual(adverts(run(params({ priority: 150 }), [[startup(true), 0], [timer("advert"), 1000]]).fx), [150, 150]);
});

test("adoption with nopreempt: a master that took over re-asserts; we yield with a parting advert at 1, not at our priority", () => {
  const { s, fx } = run(params({ priority: 150, nopreempt: true }), [
    [startup(true), 0],
    [advert(100), 2],
  ]);
  assert.equal(s.state, "BACKUP");
  assert.deepEqual(adverts(fx), [1, 1]);
  assert.ok(fx.some((e) => e.kind === "removeVips"));
  assert.equal(s.adoptedUntil, null);
});

test("adoption with nopreempt against a priority-1 master: the address breaks the tie as the master judges it", () => {
  const p = params({ priority: 150, nopreempt: true, primaryIp: "10.88.0.2" });
  // a higher address wins at 1 vs 1: it re-asserts, we yield
  assert.equal(run(p, [[startup(true), 0], [advert(1, "10.88.0.3"), 2]]).s.state, "BACKUP");
  // a lower address loses: it yields to our advert, and its parting advert makes us re-assert
  const { s, fx } = run(p, [[startup(true), 0], [advert(1, "10.88.0.1"), 2]]);
  assert.equal(s.state, "MASTER");
  assert.deepEqual(adverts(fx), [1, 1]);
});

test("a nopreempt backup resets its timer on a priority-1 adoption advert; a preempting one does not", () => {
  const np = run(params({ priority: 100, nopreempt: true }), [[startup(), 0], [advert(1), 500]]).s;
  assert.equal(np.timers.masterDown, 500 + masterDownMs(100, 1000));
  const pre = run(params({ priority: 100 }), [[startup(), 0], [advert(1), 500]]).s;
  assert.equal(pre.timers.masterDown, masterDownMs(100, 1000));
});

test("adoption when a link is down removes the stale VIPs and goes FAULT", () => {
  const { s, fx } = run(params(), [[startup(true, ["eth0"]), 0]]);
  assert.equal(s.state, "FAULT");
  assert.ok(fx.some((e) => e.kind === "removeVips"));
});

test("reconfigure on a master: VIP diff only, advert with the new priority", () => {
  const p = params({ vips: [{ address: "10.88.0.100", prefix: 24 }, { address: "10.88.0.101", prefix: 24 }] });
  const { s: m } = run(p, [
    [startup(), 0],
    [timer("masterDown"), 4000],
  ]);
  const p2 = params({ priority: 120, vips: [{ address: "10.88.0.100", prefix: 24 }, { address: "10.88.0.102", prefix: 24 }] });
  const r = step(m, { type: "reconfigure", params: p2 }, 5000);
  assert.equal(r.next.state, "MASTER");
  const add = r.effects.find((e) => e.kind === "addVips");
  const del = r.effects.find((e) => e.kind === "removeVips");
  assert.deepEqual(add?.kind === "addVips" ? add.vips.map((v) => v.address) : [], ["10.88.0.102"]);
  assert.deepEqual(del?.kind === "removeVips" ? del.vips.map((v) => v.address) : [], ["10.88.0.101"]);
  assert.deepEqual(adverts(r.effects), [120]);
});

test("reconfigure with nothing changed emits no VIP or advert effect", () => {
  const { s: m } = run(params(), [
    [startup(), 0],
    [timer("masterDown"), 4000],
  ]);
  const r = step(m, { type: "reconfigure", params: params() }, 5000);
  assert.deepEqual(kinds(r.effects), []);
  assert.equal(r.next.state, "MASTER");
});

test("initialState is INIT with no timers", () => {
  const s = initialState(params());
  assert.equal(s.state, "INIT");
  assert.deepEqual(s.timers, {});
  // adverts before startup are ignored
  assert.deepEqual(step(s, advert(200), 0).effects, []);
});
