import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock, FakeSegment } from "../../../../src/daemon/runtime/fakes.js";
import { config, instance, rig, settle } from "./helpers.js";

test("engine: a lone backup becomes master after the master-down interval and installs its VIP", async () => {
  const r = rig();
  await r.engine.start(config([instance({ notify: { master: ["/bin/m"], generic: ["/bin/n", "x"] } })]));
  assert.equal(r.engine.state("VI_1")?.state, "BACKUP");
  r.clock.advance(3609);
  assert.equal(r.engine.state("VI_1")?.state, "BACKUP");
  r.clock.advance(1);
  await settle(r);
  assert.equal(r.engine.state("VI_1")?.state, "MASTER");
  assert.ok(r.addresses.has("eth0", "10.88.0.100"));
  assert.deepEqual(r.addresses.ops, ["add 10.88.0.100/24 eth0"]);
  assert.deepEqual(r.garp.sent, [{ ifname: "eth0", addresses: ["10.88.0.100"], count: 5 }]);
  const adv = r.channel.sent[0]!;
  assert.equal(adv.priority, 100);
  assert.equal(adv.source, "10.88.0.2");
  assert.deepEqual(adv.addresses, ["10.88.0.100"]);
  assert.ok(r.notify.runs.some((x) => x.join(" ") === "/bin/m"));
  assert.ok(r.notify.runs.some((x) => x.join(" ") === "/bin/n x INSTANCE VI_1 MASTER 100"));
  assert.ok(r.notify.runs.some((x) => x.join(" ") === "/bin/n x INSTANCE VI_1 BACKUP 100"));
  // adverts every second after that, and the GARP repeat after 5 s
  r.clock.advance(5000);
  await settle(r);
  assert.equal(r.channel.sent.length, 6);
  assert.equal(r.garp.sent.length, 2);
  const snap = r.engine.snapshot();
  assert.equal(snap.instances[0]!.state, "MASTER");
  assert.equal(snap.instances[0]!.masterAddress, "10.88.0.2");
  assert.equal(snap.instances[0]!.advertsSent, 6);
  assert.equal(snap.instances[0]!.transitions, 2);
});

test("engine: two engines on one segment elect the higher priority", async () => {
  const clock = new FakeClock();
  const seg = new FakeSegment();
  const a = rig({ clock, segment: seg, primary: "10.88.0.2" });
  const b = rig({ clock, segment: seg, primary: "10.88.0.3" });
  await a.engine.start(config([instance({ priority: 200 })]));
  await b.engine.start(config([instance({ priority: 100 })]));
  clock.advance(10_000);
  await settle([a, b]);
  assert.equal(a.engine.state("VI_1")?.state, "MASTER");
  assert.equal(b.engine.state("VI_1")?.state, "BACKUP");
  assert.equal(b.engine.snapshot().instances[0]!.masterAddress, "10.88.0.2");
  assert.ok(b.engine.snapshot().instances[0]!.advertsReceived >= 6);
  assert.ok(!b.addresses.has("eth0", "10.88.0.100"));
  // clean stop of the master: the backup takes over in the skew (0.61 s)
  await a.engine.shutdown();
  await settle([a, b]);
  assert.ok(!a.addresses.has("eth0", "10.88.0.100"));
  assert.equal(a.channel.sent[a.channel.sent.length - 1]!.priority, 0);
  clock.advance(609);
  assert.equal(b.engine.state("VI_1")?.state, "BACKUP");
  clock.advance(1);
  await settle(b);
  assert.equal(b.engine.state("VI_1")?.state, "MASTER");
  assert.ok(b.addresses.has("eth0", "10.88.0.100"));
});

test("engine: adverts failing the per-instance checks are counted by reason and not acted on", async () => {
  const clock = new FakeClock();
  const seg = new FakeSegment();
  const a = rig({ clock, segment: seg, primary: "10.88.0.2" });
  const b = rig({ clock, segment: seg, primary: "10.88.0.3" });
  await a.engine.start(config([instance({ priority: 200, authPass: "secret" })]));
  await b.engine.start(config([instance({ priority: 100, authPass: "other" })]));
  clock.advance(10_000);
  await settle([a, b]);
  // auth mismatch: both think they are master (as keepalived would)
  assert.equal(a.engine.state("VI_1")?.state, "MASTER");
  assert.equal(b.engine.state("VI_1")?.state, "MASTER");
  assert.ok((b.engine.snapshot().instances[0]!.rejected.auth ?? 0) > 0);
  assert.equal(b.engine.snapshot().instances[0]!.advertsReceived, 0);
  // rate-limited log: one line per reason per 10 s at most
  const lines = b.logs.filter((l) => l.msg === "advert rejected");
  assert.ok(lines.length >= 1 && lines.length <= 2, `${lines.length} log lines`);
});

test("engine: TTL other than 255, unknown VRID and v2 interval mismatch are rejected by reason", async () => {
  const clock = new FakeClock();
  const r = rig({ clock });
  await r.engine.start(config([instance()]));
  const base = { ifname: "eth0", source: "10.88.0.9", version: 2 as const, vrid: 51, priority: 200, intervalMs: 1000, addresses: ["10.88.0.100"], authType: 0 };
  r.channel.receive({ ...base, ttl: 64 });
  r.channel.receive({ ...base, ttl: 255, vrid: 52 });
  r.channel.receive({ ...base, ttl: 255, intervalMs: 2000 });
  r.channel.receive({ ...base, ttl: 255, version: 3 });
  r.channel.reject({ reason: "checksum", source: "10.88.0.9" });
  const s = r.engine.snapshot();
  assert.deepEqual(s.instances[0]!.rejected, { ttl: 1, interval: 1, version: 1 });
  assert.deepEqual(s.rejected, { vrid: 1, checksum: 1 });
  assert.equal(s.instances[0]!.advertsReceived, 0);
  r.channel.receive({ ...base, ttl: 255 });
  assert.equal(r.engine.snapshot().instances[0]!.advertsReceived, 1);
});

test("engine: a VIP deleted by someone else while master is put back and counted; not while backup", async () => {
  const r = rig();
  await r.engine.start(config([instance()]));
  r.net.addressDeleted("eth0", "10.88.0.100", 24); // backup: nothing to do
  await settle(r);
  assert.deepEqual(r.addresses.ops, []);
  r.clock.advance(4000);
  await settle(r);
  r.addresses.present.clear();
  r.net.addressDeleted("eth0", "10.88.0.100", 24);
  await settle(r);
  assert.ok(r.addresses.has("eth0", "10.88.0.100"));
  assert.equal(r.engine.snapshot().instances[0]!.vipsRestored, 1);
  assert.ok(r.logs.some((l) => l.level === "warn" && /putting it back/.test(l.msg)));
});

test("engine: the echo of our own VIP delete is not counted as someone else's, even back in MASTER", async () => {
  const clock = new FakeClock();
  const seg = new FakeSegment();
  const a = rig({ clock, segment: seg, primary: "10.88.0.2" });
  await a.engine.start(config([instance({ priority: 100 })]));
  clock.advance(4000);
  await settle(a);
  // a better master appears and vanishes at once: we leave MASTER and come back
  a.channel.receive({ ifname: "eth0", source: "10.88.0.9", ttl: 255, version: 2, vrid: 51, priority: 200, intervalMs: 1000, addresses: ["10.88.0.100"], authType: 0 });
  await settle(a);
  a.channel.receive({ ifname: "eth0", source: "10.88.0.9", ttl: 255, version: 2, vrid: 51, priority: 0, intervalMs: 1000, addresses: ["10.88.0.100"], authType: 0 });
  clock.advance(700);
  await settle(a);
  assert.equal(a.engine.state("VI_1")?.state, "MASTER");
  a.net.addressDeleted("eth0", "10.88.0.100", 24); // the late echo of our own delete
  await settle(a);
  assert.equal(a.engine.snapshot().instances[0]!.vipsRestored, 0);
  // a real external delete later is still noticed
  clock.advance(5000);
  a.addresses.present.delete("10.88.0.100@eth0");
  a.net.addressDeleted("eth0", "10.88.0.100", 24);
  await settle(a);
  assert.equal(a.engine.snapshot().instances[0]!.vipsRestored, 1);
  assert.ok(a.addresses.has("eth0", "10.88.0.100"));
});

test("engine: after lost netlink events (resync) a master re-checks and restores its VIPs", async () => {
  const r = rig();
  await r.engine.start(config([instance()]));
  r.clock.advance(4000);
  await settle(r);
  r.addresses.present.delete("10.88.0.100@eth0"); // gone, and the DELADDR event was lost
  r.net.resync();
  await new Promise((res) => setTimeout(res, 10));
  await settle(r);
  assert.ok(r.addresses.has("eth0", "10.88.0.100"));
  assert.equal(r.engine.snapshot().instances[0]!.vipsRestored, 1);
});

test("engine: VIPs already present at startup are adopted: master at once, never removed", async () => {
  const r = rig();
  r.addresses.seed("eth0", "10.88.0.100", 24, true);
  await r.engine.start(config([instance()]));
  await settle(r);
  assert.equal(r.engine.state("VI_1")?.state, "MASTER");
  assert.equal(r.channel.sent.length, 1);
  assert.ok(!r.addresses.ops.some((o) => o.startsWith("del")));
  // the primary address is the interface's own, not the VIP
  assert.equal(r.channel.sent[0]!.source, "10.88.0.2");
});

test("engine: tracked link down -> FAULT with priority 0 and VIPs removed; up -> BACKUP", async () => {
  const r = rig();
  await r.engine.start(config([instance({ trackInterfaces: ["eth1"] })]));
  r.clock.advance(4000);
  await settle(r);
  r.net.setLink("eth1", false);
  await settle(r);
  assert.equal(r.engine.state("VI_1")?.state, "FAULT");
  assert.equal(r.channel.sent[r.channel.sent.length - 1]!.priority, 0);
  assert.ok(!r.addresses.has("eth0", "10.88.0.100"));
  r.net.setLink("eth1", true);
  assert.equal(r.engine.state("VI_1")?.state, "BACKUP");
});

test("engine: startup with a tracked link already down starts in FAULT", async () => {
  const r = rig();
  r.net.linkState.set("eth1", false);
  await r.engine.start(config([instance({ trackInterfaces: ["eth1"] })]));
  assert.equal(r.engine.state("VI_1")?.state, "FAULT");
});

test("engine: reload is a diff: unchanged instances keep state and timers, VIPs change one by one", async () => {
  const r = rig();
  const keep = instance({ name: "KEEP", vrid: 60, vips: [{ address: "10.88.0.60", prefix: 24, dev: "eth0" }] });
  const change = instance({ name: "CHANGE", vrid: 61, vips: [{ address: "10.88.0.61", prefix: 24, dev: "eth0" }, { address: "10.88.0.62", prefix: 24, dev: "eth0" }] });
  const gone = instance({ name: "GONE", vrid: 62, vips: [{ address: "10.88.0.63", prefix: 24, dev: "eth0" }] });
  await r.engine.start(config([keep, change, gone]));
  r.clock.advance(4000);
  await settle(r);
  const keepState = r.engine.state("KEEP");
  const sentBefore = r.channel.sent.length;
  r.addresses.ops.length = 0;
  const added = instance({ name: "NEW", vrid: 63, vips: [{ address: "10.88.0.64", prefix: 24, dev: "eth0" }] });
  const changed = { ...change, vips: [{ address: "10.88.0.61", prefix: 24, dev: "eth0" }, { address: "10.88.0.65", prefix: 24, dev: "eth0" }] };
  const sum = await r.engine.reload(config([keep, changed, added]));
  await settle(r);
  assert.deepEqual(sum, { added: ["NEW"], removed: ["GONE"], changed: ["CHANGE"], unchanged: ["KEEP"] });
  assert.equal(r.engine.state("KEEP"), keepState);
  assert.deepEqual(r.addresses.ops.sort(), ["add 10.88.0.65/24 eth0", "del 10.88.0.62/24 eth0", "del 10.88.0.63/24 eth0"]);
  // GONE resigned with priority 0; KEEP sent nothing extra
  const extra = r.channel.sent.slice(sentBefore);
  assert.deepEqual(extra.map((a) => `${a.vrid}:${a.priority}`), ["62:0"]);
  assert.equal(r.engine.state("NEW")?.state, "BACKUP");
  assert.equal(r.engine.state("CHANGE")?.state, "MASTER");
  // a changed VRID is a different instance: removed and added
  const sum2 = await r.engine.reload(config([keep, { ...changed, vrid: 70 }, added]));
  assert.deepEqual(sum2, { added: ["CHANGE"], removed: ["CHANGE"], changed: [], unchanged: ["KEEP", "NEW"] });
});

test("engine: sync group members move together and the GROUP notify runs once per move", async () => {
  const r = rig();
  const i1 = instance({ name: "VI_1", vrid: 51 });
  const i2 = instance({ name: "VI_2", vrid: 52, interface: "eth1", vips: [{ address: "10.89.0.100", prefix: 24, dev: "eth1" }] });
  r.addresses.seed("eth1", "10.89.0.2", 24);
  await r.engine.start(config([i1, i2], { syncGroups: [{ name: "G", instances: ["VI_1", "VI_2"], notify: { generic: ["/bin/g"] } }] }));
  r.clock.advance(4000);
  await settle(r);
  assert.equal(r.engine.state("VI_1")?.state, "MASTER");
  assert.equal(r.engine.state("VI_2")?.state, "MASTER");
  assert.ok(r.addresses.has("eth1", "10.89.0.100"));
  assert.equal(r.notify.runs.filter((x) => x.join(" ") === "/bin/g GROUP G MASTER").length, 1);
  r.net.setLink("eth1", false);
  assert.equal(r.engine.state("VI_1")?.state, "FAULT");
  assert.equal(r.engine.snapshot().syncGroups[0]!.state, "FAULT");
  r.net.setLink("eth1", true);
  assert.equal(r.engine.state("VI_1")?.state, "BACKUP");
  assert.equal(r.engine.state("VI_2")?.state, "BACKUP");
});

test("engine: shutdown of a master sends priority 0, removes VIPs, runs notify stop, cancels timers", async () => {
  const r = rig();
  await r.engine.start(config([instance({ notify: { stop: ["/bin/stop"] } })]));
  r.clock.advance(4000);
  await settle(r);
  await r.engine.shutdown();
  assert.equal(r.channel.sent[r.channel.sent.length - 1]!.priority, 0);
  assert.ok(!r.addresses.has("eth0", "10.88.0.100"));
  assert.ok(r.notify.runs.some((x) => x[0] === "/bin/stop"));
  assert.equal(r.clock.pending(), 0);
  assert.ok(r.channel.closed);
});

test("engine: a flood of lower-priority adverts and of unknown VRIDs is counted exactly but logged once per interval", async () => {
  const clock = new FakeClock();
  const r = rig({ clock });
  await r.engine.start(config([instance({ priority: 200 })]));
  clock.advance(4000);
  await settle(r);
  assert.equal(r.engine.state("VI_1")?.state, "MASTER");
  const base = { ifname: "eth0", source: "10.88.0.9", ttl: 255, version: 2 as const, priority: 100, intervalMs: 1000, addresses: ["10.88.0.100"], authType: 0 };
  for (let k = 0; k < 1000; k++) {
    r.channel.receive({ ...base, vrid: 51 });
    r.channel.receive({ ...base, vrid: 1 + (k % 255) === 51 ? 52 : 1 + (k % 255) });
  }
  const lower = () => r.logs.filter((l) => l.msg === "lower priority master seen: re-asserting mastership");
  const vrid = () => r.logs.filter((l) => l.msg === "advert for a VRID we do not run: ignored");
  assert.equal(lower().length, 1);
  assert.equal(vrid().length, 1);
  let s = r.engine.snapshot();
  assert.equal(s.instances[0]!.lowerPriorityAdverts, 1000);
  assert.equal(s.rejected.vrid, 1000);
  // after the interval the next line says how many were held back
  clock.advance(10_000);
  r.channel.receive({ ...base, vrid: 51 });
  r.channel.receive({ ...base, vrid: 7 });
  assert.equal(lower().length, 2);
  assert.equal(lower()[1]!.suppressed, 999);
  assert.equal(vrid()[1]!.suppressed, 999);
  s = r.engine.snapshot();
  assert.equal(s.instances[0]!.lowerPriorityAdverts, 1001);
  assert.equal(s.rejected.vrid, 1001);
});

test("engine: strict by default, a v3 advert whose checksum leaves out the pseudo-header is rejected and counted; lenient accepts it", async () => {
  for (const lenient of [false, true]) {
    const r = rig();
    await r.engine.start(config([instance({ version: 3, advertIntervalCs: 10, ...(lenient ? { v3ChecksumLenient: true } : {}) })]));
    r.channel.receive({ ifname: "eth0", source: "10.88.0.9", ttl: 255, version: 3, vrid: 51, priority: 200, intervalMs: 100, addresses: ["10.88.0.100"], authType: 0, checksum: "message" });
    const i = r.engine.snapshot().instances[0]!;
    assert.deepEqual(i.rejected, lenient ? {} : { checksum: 1 });
    assert.equal(i.advertsReceived, lenient ? 1 : 0);
  }
});

test("engine: a new master's first advert waits until its VIPs are on (the old master drops its own on hearing it)", async () => {
  const r = rig();
  let release!: () => void;
  r.addresses.gate = new Promise<void>((res) => (release = res));
  await r.engine.start(config([instance()]));
  r.clock.advance(3610);
  // not settle(): it waits for the address queue, which the gate holds
  for (let k = 0; k < 5; k++) await new Promise((res) => setImmediate(res));
  assert.equal(r.engine.state("VI_1")?.state, "MASTER");
  assert.deepEqual(r.addresses.ops, ["add 10.88.0.100/24 eth0"]);
  assert.equal(r.addresses.has("eth0", "10.88.0.100"), false, "the VIP is still being added");
  assert.equal(r.channel.sent.length, 0, "no advert while the VIP is not on");
  assert.equal(r.garp.sent.length, 0);
  release();
  await settle(r);
  assert.ok(r.addresses.has("eth0", "10.88.0.100"));
  assert.equal(r.channel.sent.length, 1);
  assert.equal(r.channel.sent[0]!.priority, 100);
  assert.equal(r.garp.sent.length, 1);
  // once the VIPs are on, adverts go out on their timer without waiting for anything
  r.clock.advance(1000);
  assert.equal(r.channel.sent.length, 2);
});
