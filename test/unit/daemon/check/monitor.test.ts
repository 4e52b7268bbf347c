import { test } from "node:test";
import assert from "node:assert/strict";
import type { LvsdService } from "../../../../src/daemon/config.js";
import { CheckHealth } from "../../../../src/daemon/check/monitor.js";
import { realServerId } from "../../../../src/daemon/core/health.js";
import { checkSpecs, nameBasedId } from "../../../../src/daemon/check/plan.js";
import type { CheckResult, CheckerSet, CheckTarget } from "../../../../src/daemon/check/types.js";
import { createLogger, type LogRecord } from "../../../../src/daemon/log.js";
import { FakeClock, FakeNotify } from "../../../../src/daemon/runtime/fakes.js";

const tcp = { type: "TCP" as const, connectTimeoutSec: 5, retry: 0, delayBeforeRetrySec: 1 };
function svc(over: Partial<LvsdService> = {}): LvsdService {
  return {
    name: "web", vip: "10.0.0.100", port: 80, protocol: "TCP", scheduler: "wrr", forwarding: "DR", delayLoopSec: 1, quorum: 1, hysteresis: 0,
    realServers: [
      { address: "10.0.0.1", port: 80, weight: 2, inhibitOnFailure: false, check: tcp, notifyUp: ["/bin/up", "rs1"], notifyDown: ["/bin/down", "rs1"] },
      { address: "10.0.0.2", port: 80, weight: 3, inhibitOnFailure: true, check: { type: "MISC", argv: ["/bin/w"], timeoutSec: 1, dynamic: true, retry: 0, delayBeforeRetrySec: 1 } },
      { address: "10.0.0.3", port: 80, weight: 1, inhibitOnFailure: false },
    ],
    ...over,
  };
}

const flush = () => new Promise((r) => setImmediate(r));

function rig(idOf?: import("../../../../src/daemon/check/plan.js").RealServerIdOf) {
  const clock = new FakeClock();
  const answers = new Map<string, CheckResult>();
  const c = { check: async (t: CheckTarget) => answers.get(t.type === "MISC" ? t.argv[0]! : t.address) ?? { ok: true } };
  const notify = new FakeNotify();
  const logs: LogRecord[] = [];
  const h = new CheckHealth({ clock, checkers: { TCP: c, HTTP: c, SSL: c, MISC: c } as unknown as CheckerSet, notify, log: createLogger({ sink: (r) => logs.push(r) }), initialSpreadMs: 0, wallNow: () => 0, ...(idOf ? { idOf } : {}) });
  let changes = 0;
  h.onChange(() => changes++);
  return { clock, answers, notify, logs, h, changes: () => changes };
}

test("plan: one spec per checked real server, keepalived timings in ms, connect_ip/port override, timeout per url", () => {
  const s = svc({
    delayLoopSec: 6,
    realServers: [
      { address: "10.0.0.1", port: 80, weight: 2, inhibitOnFailure: false, check: { ...tcp, retry: 1, connectIp: "10.0.1.1", connectPort: 8080, bindto: "10.0.0.50", rise: 3, alpha: true } },
      { address: "fd00::2", port: 443, weight: 1, inhibitOnFailure: false, check: { type: "SSL", connectTimeoutSec: 2, retry: 0, delayBeforeRetrySec: 3, urls: [{ path: "/a", statusCodes: [] }, { path: "/b", statusCodes: [200] }], virtualhost: "www", sni: "www", verifyCert: true } },
      { address: "10.0.0.3", port: 80, weight: 1, inhibitOnFailure: false },
    ],
  });
  const [a, b, ...rest] = checkSpecs([s]);
  assert.equal(rest.length, 0);
  assert.equal(a!.id, "web/10.0.0.1:80");
  assert.deepEqual(a!.target, { type: "TCP", address: "10.0.1.1", port: 8080, bindto: "10.0.0.50" });
  assert.deepEqual(a!.policy, { delayLoopMs: 6000, retry: 1, delayBeforeRetryMs: 1000, rise: 3, alpha: true, timeoutMs: 5000 });
  assert.equal(b!.id, "web/[fd00::2]:443");
  assert.deepEqual(b!.target, { type: "SSL", address: "fd00::2", port: 443, urls: [{ path: "/a", statusCodes: [] }, { path: "/b", statusCodes: [200] }], virtualhost: "www", sni: "www", verifyCert: true });
  assert.equal(b!.policy.timeoutMs, 4000, "connect_timeout per url");
  assert.equal(b!.policy.rise, 1, "keepalived's single success by default");
  // the core's identity is used when given
  assert.equal(checkSpecs([s], (x, rs) => `${x.vip} -> ${rs.address}`)[0]!.id, "10.0.0.100 -> 10.0.0.1");
});

test("CheckHealth: unchecked and unknown are up with their configured weight; a down server says so once, runs notify_down, and the core is told", async () => {
  const r = rig();
  r.h.update([svc()]);
  r.clock.advance(0);
  await flush();
  const id = (a: string) => nameBasedId(svc(), { address: a, port: 80 });
  assert.deepEqual(r.h.health(id("10.0.0.3")), { up: true });
  assert.deepEqual(r.h.health("nope"), { up: true });
  assert.deepEqual(r.h.health(id("10.0.0.1")), { up: true, weight: 2 });
  assert.equal(r.changes(), 0);
  r.answers.set("10.0.0.1", { ok: false, reason: "connect-refused", detail: "connection refused" });
  r.clock.advance(1000);
  await flush();
  assert.deepEqual(r.h.health(id("10.0.0.1")), { up: false });
  assert.equal(r.changes(), 1);
  assert.deepEqual(r.notify.runs, [["/bin/down", "rs1"]]);
  const line = r.logs.find((l) => l.msg === "real server down")!;
  assert.deepEqual({ service: line.service, realServer: line.realServer, reason: line.reason }, { service: "web", realServer: "10.0.0.1:80", reason: "connect-refused: connection refused" });
  const snap = r.h.snapshot()[id("10.0.0.1")]!;
  assert.deepEqual({ up: snap.up, lastResult: snap.lastResult, reason: snap.reason, since: snap.since }, { up: false, lastResult: "failure", reason: "connect-refused: connection refused", since: "1970-01-01T00:00:00.000Z" });
  assert.equal(snap.check.failed["connect-refused"], 1);
  // back: notify_up
  r.answers.delete("10.0.0.1");
  r.clock.advance(1000);
  await flush();
  assert.deepEqual(r.notify.runs.at(-1), ["/bin/up", "rs1"]);
  assert.equal(r.changes(), 2);
});

test("CheckHealth: misc_dynamic's weight is what the core reads; a reload without changes keeps every state", async () => {
  const r = rig();
  r.answers.set("/bin/w", { ok: true, weight: 9 });
  r.h.update([svc()]);
  r.clock.advance(0);
  await flush();
  const id = nameBasedId(svc(), { address: "10.0.0.2", port: 80 });
  assert.deepEqual(r.h.health(id), { up: true, weight: 9 });
  r.answers.set("10.0.0.1", { ok: false, reason: "connect-refused", detail: "" });
  r.clock.advance(1000);
  await flush();
  r.h.update([svc()]);
  assert.equal(r.h.health(nameBasedId(svc(), { address: "10.0.0.1", port: 80 })).up, false);
  assert.deepEqual(r.h.health(id), { up: true, weight: 9 });
  await r.h.stop();
  assert.equal(r.clock.pending(), 0);
});

test("CheckHealth: quorum_down when the live weight falls below quorum, quorum_up when it is back (the core's policy, hysteresis included)", async () => {
  // the core's ids: its policy looks real servers up by them
  const r = rig(realServerId);
  const s = svc({ quorum: 3, hysteresis: 0, quorumUp: ["/bin/q", "up"], quorumDown: ["/bin/q", "down"], realServers: svc().realServers.slice(0, 2) });
  r.answers.set("/bin/w", { ok: true, weight: 2 });
  r.h.update([s]);
  r.clock.advance(0);
  await flush();
  // live 2 + 2 = 4 >= 3: quorum, nothing run
  assert.deepEqual(r.notify.runs, []);
  r.answers.set("10.0.0.1", { ok: false, reason: "connect-refused", detail: "" });
  r.clock.advance(1000);
  await flush();
  assert.deepEqual(r.notify.runs, [["/bin/down", "rs1"], ["/bin/q", "down"]]);
  assert.ok(r.logs.some((l) => l.msg === "service lost quorum" && l.liveWeight === 2));
  r.answers.delete("10.0.0.1");
  r.clock.advance(1000);
  await flush();
  assert.deepEqual(r.notify.runs.slice(2), [["/bin/up", "rs1"], ["/bin/q", "up"]]);
});
