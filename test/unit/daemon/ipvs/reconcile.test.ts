// The reconciler's pure step and keepalived's policy, on fixtures and as properties.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { LvsdService } from "../../../../src/daemon/config.js";
import { realServerId } from "../../../../src/daemon/core/health.js";
import { applyOps, describeOp, reconcile, wantedTable, destRule, serviceKeyText, serviceRule, type TableEntry } from "../../../../src/daemon/ipvs/index.js";
import { IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2 } from "../../../../src/daemon/netlink/index.js";
import { dumpAfter, tableOfDump } from "../../../../src/daemon/ipvs/reconciler.js";

const web = (over: Partial<LvsdService> = {}): LvsdService => ({
  name: "web",
  vip: "10.0.0.100",
  port: 80,
  protocol: "TCP",
  scheduler: "wrr",
  forwarding: "DR",
  delayLoopSec: 6,
  quorum: 1,
  hysteresis: 0,
  realServers: [
    { address: "10.0.0.21", port: 80, weight: 1, inhibitOnFailure: false },
    { address: "10.0.0.22", port: 80, weight: 2, inhibitOnFailure: true },
  ],
  ...over,
});
const up = () => ({ up: true });

test("an unchanged table gives no operation; one weight changed gives one edit of that real server", () => {
  const w = wantedTable([web()], up).table;
  assert.deepEqual(reconcile(w, w).ops, []);
  const changed = web({ realServers: [web().realServers[0]!, { ...web().realServers[1]!, weight: 5 }] });
  const ops = reconcile(wantedTable([changed], up).table, w).ops;
  assert.deepEqual(ops.map(describeOp), ["edit-dest TCP 10.0.0.100:80 -> 10.0.0.22:80 weight 5"]);
});

test("an empty kernel: the service, then its real servers; a hand deletion is one add", () => {
  const w = wantedTable([web()], up).table;
  const ops = reconcile(w, []).ops;
  assert.deepEqual(ops.map(describeOp), ["add-service TCP 10.0.0.100:80 wrr", "add-dest TCP 10.0.0.100:80 -> 10.0.0.21:80 weight 1", "add-dest TCP 10.0.0.100:80 -> 10.0.0.22:80 weight 2"]);
  const handEdited: TableEntry[] = [{ service: w[0]!.service, dests: [w[0]!.dests[1]!] }];
  assert.deepEqual(reconcile(w, handEdited).ops.map(describeOp), ["add-dest TCP 10.0.0.100:80 -> 10.0.0.21:80 weight 1"]);
});

test("services lvsd does not own are left alone; owned ones no longer wanted are deleted", () => {
  const other: TableEntry = { service: serviceRule({ key: { protocol: 17, address: "10.0.0.5", port: 53 }, scheduler: "rr" }), dests: [] };
  const w = wantedTable([web()], up).table;
  const r = reconcile(w, [...w, other]);
  assert.deepEqual(r.ops, []);
  assert.deepEqual(r.foreign, [other.service.key]);
  assert.deepEqual(reconcile(w, [...w, other], new Set(["UDP 10.0.0.5:53"])).ops.map(describeOp), ["del-service UDP 10.0.0.5:53"]);
  // a foreign destination inside an owned service is removed
  const extra: TableEntry[] = [{ service: w[0]!.service, dests: [...w[0]!.dests, destRule({ address: "10.0.0.99", port: 80, fwd: "dr", weight: 1 })] }];
  assert.deepEqual(reconcile(w, extra).ops.map(describeOp), ["del-dest TCP 10.0.0.100:80 -> 10.0.0.99:80"]);
});

test("scheduler, persistence and flags are edits of the service, not a delete and add", () => {
  const w = wantedTable([web({ scheduler: "sh", schedulerFlags: ["sh-fallback", "sh-port"], persistenceTimeoutSec: 300, persistenceNetmask: "255.255.255.0" })], up).table;
  assert.deepEqual(w[0]!.service, { key: { protocol: 6, address: "10.0.0.100", port: 80 }, scheduler: "sh", flags: IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2, timeout: 300, netmask: 0xffffff00 });
  const ops = reconcile(w, wantedTable([web()], up).table).ops;
  assert.deepEqual(ops.map((o) => o.kind), ["edit-service"]);
});

test("fwmark, UDP/SCTP, IPv6, NAT and TUN with gue: keys and destinations in the decoders' form", () => {
  const t = wantedTable(
    [
      web({ vip: undefined, port: undefined, fwmark: 7, realServers: [{ address: "FD00:0::21", port: 0, weight: 1, inhibitOnFailure: false }] }),
      web({ vip: "10.0.0.100", port: 53, protocol: "UDP", onePacket: true, forwarding: "NAT" }),
      web({ port: 3868, protocol: "SCTP", forwarding: "TUN", realServers: [{ address: "10.0.0.21", port: 3868, weight: 1, inhibitOnFailure: false, tunnel: { type: "gue", port: 6080 } }] }),
    ],
    up,
  ).table;
  assert.deepEqual(t[0]!.service.key, { fwmark: 7, family: "inet6" });
  assert.equal(t[0]!.service.netmask, 128);
  assert.deepEqual(t[0]!.dests[0], { address: "fd00::21", port: 0, fwd: 3, weight: 1, uThresh: 0, lThresh: 0, tunType: 0, tunPort: 0, tunFlags: 0 });
  assert.equal(t[1]!.service.flags, 4);
  assert.equal(t[1]!.dests[0]!.fwd, 0);
  assert.deepEqual(t[2]!.service.key, { protocol: 132, address: "10.0.0.100", port: 3868 });
  assert.deepEqual([t[2]!.dests[0]!.fwd, t[2]!.dests[0]!.tunType, t[2]!.dests[0]!.tunPort], [2, 1, 6080]);
});

test("tunnel checksum and IPv6 persistence: the flags and the prefix length the kernel keeps", () => {
  const t = wantedTable(
    [
      web({ forwarding: "TUN", realServers: [{ address: "10.0.0.21", port: 80, weight: 1, inhibitOnFailure: false, tunnel: { type: "gue", port: 6080, checksum: "remcsum" } }] }),
      web({ port: 81, forwarding: "TUN", realServers: [{ address: "10.0.0.21", port: 81, weight: 1, inhibitOnFailure: false, tunnel: { type: "gre", checksum: "csum" } }] }),
      web({ vip: "fd00::100", persistenceTimeoutSec: 60, persistenceNetmask: 64, realServers: [{ address: "fd00::21", port: 80, weight: 1, inhibitOnFailure: false }] }),
    ],
    up,
  ).table;
  assert.deepEqual([t[0]!.dests[0]!.tunType, t[0]!.dests[0]!.tunPort, t[0]!.dests[0]!.tunFlags], [1, 6080, 2]);
  assert.deepEqual([t[1]!.dests[0]!.tunType, t[1]!.dests[0]!.tunPort, t[1]!.dests[0]!.tunFlags], [2, 0, 1]);
  assert.equal(t[2]!.service.netmask, 64);
  // only the checksum changed: one edit of that destination
  const nocsum = wantedTable([web({ forwarding: "TUN", realServers: [{ address: "10.0.0.21", port: 80, weight: 1, inhibitOnFailure: false, tunnel: { type: "gue", port: 6080 } }] })], up).table;
  assert.deepEqual(reconcile([t[0]!], nocsum).ops.map((o) => o.kind), ["edit-dest"]);
});

test("policy: down is removed, or weight 0 with inhibit_on_failure; misc_dynamic weight replaces the configured one", () => {
  const s = web();
  const id1 = realServerId(s, s.realServers[0]!);
  const id2 = realServerId(s, s.realServers[1]!);
  assert.equal(id1, "TCP 10.0.0.100:80 -> 10.0.0.21:80");
  const r = wantedTable([s], (id) => (id === id1 ? { up: false } : { up: true, weight: 7 }));
  assert.deepEqual(r.table[0]!.dests.map((d) => [d.address, d.weight]), [["10.0.0.22", 7]]);
  const r2 = wantedTable([s], (id) => (id === id2 ? { up: false } : { up: true }));
  assert.deepEqual(r2.table[0]!.dests.map((d) => [d.address, d.weight]), [["10.0.0.21", 1], ["10.0.0.22", 0]]);
});

test("policy: all down brings the sorry server in alone; quorum with hysteresis decides when", () => {
  const s = web({ sorryServer: { address: "10.0.0.29", port: 80 }, quorum: 3, hysteresis: 1 });
  const [a, b] = s.realServers.map((rs) => realServerId(s, rs));
  const down = new Set<string>();
  const h = (id: string) => ({ up: !down.has(id) });
  // all up: live weight 3 >= 3 - 1
  let r = wantedTable([s], h);
  assert.equal(r.services[0]!.quorum, true);
  assert.deepEqual(r.table[0]!.dests.map((d) => d.address), ["10.0.0.21", "10.0.0.22"]);
  // a down: live weight 2 >= 2 (quorum 3 - hysteresis 1) keeps quorum
  down.add(a!);
  r = wantedTable([s], h, r.quorum);
  assert.equal(r.services[0]!.quorum, true);
  // both down: the sorry server alone (b is inhibit_on_failure: kept at weight 0)
  down.add(b!);
  r = wantedTable([s], h, r.quorum);
  assert.equal(r.services[0]!.sorryServerActive, true);
  assert.deepEqual(r.table[0]!.dests.map((d) => [d.address, d.weight]), [["10.0.0.22", 0], ["10.0.0.29", 1]]);
  // b back: live weight 2 < 3 + 1: still no quorum, still the sorry server
  down.delete(b!);
  r = wantedTable([s], h, r.quorum);
  assert.equal(r.services[0]!.quorum, false);
  assert.deepEqual(r.table[0]!.dests.map((d) => d.address), ["10.0.0.22", "10.0.0.29"]);
  // both back: 3 < 4 still; with a at weight 2 (misc_dynamic), 4 >= 4: quorum again, sorry server out
  down.delete(a!);
  r = wantedTable([s], (id) => (id === a ? { up: true, weight: 2 } : { up: true }), r.quorum);
  assert.equal(r.services[0]!.quorum, true);
  assert.deepEqual(r.table[0]!.dests.map((d) => d.address), ["10.0.0.21", "10.0.0.22"]);
});

// ---- property: one reconcile and its application leave nothing to do ----------------------------

const addr = fc.oneof(fc.constantFrom("10.0.0.1", "10.0.0.2", "10.0.0.3", "fd00::1", "fd00::2"));
const destArb = fc.record({
  address: addr,
  port: fc.constantFrom(0, 80, 8080),
  fwd: fc.constantFrom<"dr" | "nat" | "tun">("dr", "nat", "tun"),
  weight: fc.integer({ min: 0, max: 5 }),
  uThresh: fc.constantFrom(0, 100),
  lThresh: fc.constantFrom(0, 10),
  tunType: fc.constantFrom(0, 1, 2),
  tunPort: fc.constantFrom(0, 6080),
  tunFlags: fc.constantFrom(0, 1, 2),
});
const entryArb = fc.record({
  key: fc.oneof(
    fc.record({ protocol: fc.constantFrom(6, 17, 132), address: fc.constantFrom("10.0.0.100", "10.0.0.101", "fd00::100"), port: fc.constantFrom(80, 443) }),
    fc.record({ fwmark: fc.integer({ min: 1, max: 3 }) }),
  ),
  scheduler: fc.constantFrom("rr", "wrr", "sh"),
  flags: fc.integer({ min: 0, max: 0x3d }).map((f) => f & ~2),
  timeout: fc.constantFrom(0, 300),
  dests: fc.array(destArb, { maxLength: 4 }),
});
const tableArb = fc.array(entryArb, { maxLength: 5 }).map((es) => {
  const seen = new Set<string>();
  const out: TableEntry[] = [];
  for (const e of es) {
    const service = serviceRule({ key: e.key, scheduler: e.scheduler, flags: e.flags, timeout: e.timeout });
    const k = JSON.stringify(service.key);
    if (seen.has(k)) continue;
    seen.add(k);
    const ds = new Map(e.dests.map((d) => [`${d.address}|${d.port}`, destRule(d)]));
    out.push({ service, dests: [...ds.values()] });
  }
  return out;
});

test("property: reconcile(wanted, apply(actual, reconcile(wanted, actual))) is empty, without kernel errors", () => {
  fc.assert(
    fc.property(tableArb, tableArb, (wanted, actual) => {
      // own every service, so the table must end up exactly as wanted
      const ownedText = new Set(actual.map((e) => serviceKeyText(e.service.key)));
      const r = reconcile(wanted, actual, ownedText);
      const applied = applyOps(actual, r.ops);
      assert.deepEqual(applied.errors, []);
      assert.deepEqual(reconcile(wanted, applied.table, ownedText).ops, []);
      // and reconciling a table with itself writes nothing
      assert.deepEqual(reconcile(wanted, wanted).ops, []);
    }),
    { numRuns: 300 },
  );
});

test("property: the status table after a pass's writes (dumpAfter, no second dump) is the table the kernel then holds", () => {
  const asDump = (t: TableEntry[]) => t.map((e) => ({ service: { ...e.service, kernelFlags: e.service.flags | 2 }, dests: e.dests.map((d) => ({ ...d, activeConns: 1, inactConns: 0, persistConns: 0 })) }));
  fc.assert(
    fc.property(tableArb, tableArb, fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), (wanted, actual, fails) => {
      const owned = new Set(actual.map((e) => serviceKeyText(e.service.key)));
      const { ops } = reconcile(wanted, actual, owned);
      // some writes fail: only those that succeeded are in the kernel, as applyOps models it
      const results = ops.map((_, k) => (fails[k % fails.length] ? { ok: false as const, code: "EINVAL", errno: 22 } : { ok: true as const, value: undefined }));
      const kernel = applyOps(actual, ops.filter((_, k) => results[k]!.ok)).table;
      const after = dumpAfter(asDump(actual), ops, results);
      assert.deepEqual(reconcile(kernel, tableOfDump(after), owned).ops, []);
      assert.deepEqual(reconcile(tableOfDump(after), kernel, owned).ops, []);
    }),
    { numRuns: 300 },
  );
});
