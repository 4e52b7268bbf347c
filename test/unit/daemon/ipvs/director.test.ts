// The core's IPVS half on a fake kernel: start adopts a matching table without a write, SIGHUP
// writes only the difference, hand edits are put back and counted, kernel errors are logged with
// their operation, the sync daemon follows the VRRP state, and status/metrics carry it all.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { LvsdConfig, LvsdService } from "../../../../src/daemon/config.js";
import { Director } from "../../../../src/daemon/core/director.js";
import { allUp, realServerId, type HealthSource, type RealServerHealth } from "../../../../src/daemon/core/health.js";
import { FakeIpvs } from "../../../../src/daemon/ipvs/fake.js";
import { describeOp, wantedTable } from "../../../../src/daemon/ipvs/index.js";
import { createLogger, type LogRecord } from "../../../../src/daemon/log.js";
import { renderMetrics } from "../../../../src/daemon/status/metrics.js";
import { config } from "../runtime/helpers.js";

const svc = (weight2 = 2): LvsdService => ({
  name: "web",
  vip: "10.0.0.100",
  port: 80,
  protocol: "TCP",
  scheduler: "wrr",
  forwarding: "DR",
  delayLoopSec: 6,
  quorum: 1,
  hysteresis: 0,
  sorryServer: { address: "10.0.0.29", port: 80 },
  realServers: [
    { address: "10.0.0.21", port: 80, weight: 1, inhibitOnFailure: false },
    { address: "10.0.0.22", port: 80, weight: weight2, inhibitOnFailure: false },
  ],
});

function rig(opts: { health?: HealthSource; states?: { name: string; state: string }[] } = {}) {
  const kernel = new FakeIpvs();
  const logs: LogRecord[] = [];
  const states = opts.states ?? [];
  const d = new Director({
    openIpvs: async () => kernel,
    health: opts.health ?? allUp(),
    vrrpStates: async () => states,
    log: createLogger({ level: "debug", sink: (r) => logs.push(r) }),
    intervalMs: 3_600_000,
    syncPollMs: 3_600_000,
  });
  return { kernel, logs, d, states };
}

const cfg = (services: LvsdService[], over: Partial<LvsdConfig> = {}): LvsdConfig => ({ ...config([]), services, ...over });

test("start programs an empty kernel; a restart on the same table writes nothing (adoption)", async () => {
  const r = rig();
  const first = await r.d.start(cfg([svc()]));
  assert.equal(first?.ops, 3);
  assert.deepEqual(r.kernel.writes.map(describeOp), ["add-service TCP 10.0.0.100:80 wrr", "add-dest TCP 10.0.0.100:80 -> 10.0.0.21:80 weight 1", "add-dest TCP 10.0.0.100:80 -> 10.0.0.22:80 weight 2"]);
  await r.d.stop();

  // a new lvsd on the same kernel (crash or upgrade)
  const again = new Director({ openIpvs: async () => r.kernel, health: allUp(), vrrpStates: async () => [], log: createLogger({ level: "error", sink: () => undefined }), intervalMs: 3_600_000 });
  r.kernel.writes = [];
  const adopted = await again.start(cfg([svc()]));
  assert.deepEqual({ ops: adopted?.ops, ok: adopted?.ok }, { ops: 0, ok: true });
  assert.deepEqual(r.kernel.writes, []);
  await again.stop();
});

test("SIGHUP with one weight changed: exactly one write, to that real server", async () => {
  const r = rig();
  await r.d.start(cfg([svc()]));
  r.kernel.writes = [];
  const rep = await r.d.reload(cfg([svc(5)]));
  assert.equal(rep?.ops, 1);
  assert.deepEqual(r.kernel.writes.map(describeOp), ["edit-dest TCP 10.0.0.100:80 -> 10.0.0.22:80 weight 5"]);
  assert.equal(r.d.status()?.writes, 4);
  await r.d.stop();
});

test("a hand deletion (ipvsadm -d) is put back on the next periodic pass and counted as a repair", async () => {
  const r = rig();
  await r.d.start(cfg([svc()]));
  r.kernel.table[0]!.dests = r.kernel.table[0]!.dests.filter((d) => d.address !== "10.0.0.21");
  const rep = await r.d.pass("periodic");
  assert.equal(rep?.repaired, 1);
  assert.equal(r.d.status()?.repairs, 1);
  assert.ok(r.logs.some((l) => l.msg === "IPVS table changed outside lvsd: putting it back" && JSON.stringify(l.ops).includes("add-dest TCP 10.0.0.100:80 -> 10.0.0.21:80")));
  assert.match(renderMetrics({ routerId: "r", pid: 1, startedAt: "", uptimeSec: 0, instances: [], syncGroups: [], rejected: {}, ipvs: r.d.status()! }), /^lvsd_ipvs_repairs_total 1$/m);
  await r.d.stop();
});

test("a kernel error reaches the log with the operation that caused it, and the next pass retries", async () => {
  const r = rig();
  r.kernel.failNext.set("add-dest", "ENOMEM");
  const rep = await r.d.start(cfg([svc()]));
  assert.deepEqual([rep?.ok, rep?.failed], [false, 1]);
  const err = r.logs.find((l) => l.msg === "IPVS write failed");
  assert.equal(err?.op, "add-dest TCP 10.0.0.100:80 -> 10.0.0.21:80 weight 1");
  assert.equal(err?.code, "ENOMEM");
  const again = await r.d.pass("periodic");
  assert.deepEqual([again?.ok, again?.ops, again?.repaired], [true, 1, 0]);
});

test("health: a down real server leaves the table on the change; all down brings the sorry server", async () => {
  const state = new Map<string, RealServerHealth>();
  let listener = () => {};
  const health: HealthSource = { update: () => {}, health: (id) => state.get(id) ?? { up: true }, onChange: (l) => (listener = l), snapshot: () => Object.fromEntries([...state].map(([k, v]) => [k, { ...v, lastResult: v.up ? "success" : "failure", reason: "test" }])), stop: async () => {} };
  const r = rig({ health });
  const s = svc();
  await r.d.start(cfg([s]));
  state.set(realServerId(s, s.realServers[0]!), { up: false });
  listener();
  await r.d.pass("health");
  assert.deepEqual(r.kernel.table[0]!.dests.map((d) => d.address), ["10.0.0.22"]);
  state.set(realServerId(s, s.realServers[1]!), { up: false });
  await r.d.pass("health");
  assert.deepEqual(r.kernel.table[0]!.dests.map((d) => d.address), ["10.0.0.29"]);
  const st = r.d.status()!;
  assert.equal(st.services[0]!.sorryServerActive, true);
  assert.deepEqual(st.services[0]!.realServers.map((x) => [x.address, x.health.up, x.weight, x.sorry]), [["10.0.0.21", false, null, false], ["10.0.0.22", false, null, false], ["10.0.0.29", true, 1, true]]);
  assert.equal(st.services[0]!.realServers[0]!.health.reason, "test");
  // the sorry server's counters: none until a pass reads the table again (a pass that wrote does
  // not dump twice), then the kernel's
  assert.equal(st.services[0]!.realServers[2]!.counters, null);
  const dumps = r.kernel.dumps;
  await r.d.pass("periodic");
  assert.equal(r.kernel.dumps, dumps + 1);
  assert.equal(r.d.status()!.services[0]!.realServers[2]!.counters?.inpkts, 10);
  assert.ok(r.logs.some((l) => l.msg === "service lost quorum"));
});

test("connection sync: a backup daemon at start, master when the instance is MASTER, back on BACKUP", async () => {
  const r = rig({ states: [{ name: "VI_1", state: "BACKUP" }] });
  await r.d.start(cfg([svc()], { instances: config([]).instances, lvsSyncDaemon: { interface: "eth1", instance: "VI_1", syncId: 5 } }));
  assert.deepEqual(r.kernel.daemonsRunning, [{ role: "backup", ifname: "eth1", syncId: 5 }]);
  await r.d.stop();
  // a director that polls the VRRP state every 5 ms
  r.states[0]!.state = "MASTER";
  const d2 = new Director({ openIpvs: async () => r.kernel, health: allUp(), vrrpStates: async () => r.states, log: createLogger({ level: "error", sink: () => undefined }), intervalMs: 3_600_000, syncPollMs: 5 });
  await d2.start(cfg([svc()], { lvsSyncDaemon: { interface: "eth1", instance: "VI_1", syncId: 5 } }));
  await new Promise((res) => setTimeout(res, 60));
  assert.deepEqual(r.kernel.daemonsRunning, [{ role: "master", ifname: "eth1", syncId: 5 }]);
  assert.deepEqual(r.kernel.daemonWrites.slice(-2), ["stop backup", "start master eth1 5"]);
  r.states[0]!.state = "BACKUP";
  await new Promise((res) => setTimeout(res, 60));
  assert.deepEqual(r.kernel.daemonsRunning, [{ role: "backup", ifname: "eth1", syncId: 5 }]);
  assert.equal(d2.status()?.syncDaemon?.wanted?.role, "backup");
  await d2.stop();
});

test("the start pass never waits on the VRRP states: lvsd may run it before its engine is started", async () => {
  // main.ts starts the VRRP engine after the first pass (core/startup.ts): a pass that asked the
  // engine would wait for something that only comes after it.
  const kernel = new FakeIpvs();
  let asked = 0;
  const d = new Director({ openIpvs: async () => kernel, health: allUp(), vrrpStates: () => ((asked += 1), new Promise(() => undefined)), log: createLogger({ level: "error", sink: () => undefined }), intervalMs: 3_600_000, syncPollMs: 3_600_000 });
  const first = await d.start(cfg([svc()], { lvsSyncDaemon: { interface: "eth1", instance: "VI_1", syncId: 5 } }));
  assert.equal(first?.ok, true);
  assert.equal(kernel.table.length, 1);
  assert.deepEqual(kernel.daemonsRunning, [{ role: "backup", ifname: "eth1", syncId: 5 }], "the sync daemon starts as backup until VRRP says MASTER");
  assert.equal(asked, 0);
  await d.stop();
});

test("a VRRP-only config never opens IPVS", async () => {
  let opened = false;
  const d = new Director({ openIpvs: async () => ((opened = true), new FakeIpvs()), health: allUp(), vrrpStates: async () => [], log: createLogger({ level: "error", sink: () => undefined }) });
  assert.equal(await d.start(cfg([])), undefined);
  assert.equal(opened, false);
  assert.equal(d.status(), undefined);
  await d.stop();
});

test("wantedTable is what the director hands over (a pure function of config and health)", () => {
  assert.equal(wantedTable([svc()], () => ({ up: true })).table[0]!.dests.length, 2);
});

test("a large start-up: all writes in one applyAll in the plan's order, each result counted and logged with its op", async () => {
  // a kernel that records its batches and fails one write in the middle (and carries on, as the
  // kernel does within a batch)
  const kernel = new FakeIpvs();
  const batches: number[] = [];
  const applyAll = kernel.applyAll.bind(kernel);
  kernel.applyAll = async (ops) => {
    batches.push(ops.length);
    return applyAll(ops);
  };
  const apply = kernel.apply.bind(kernel);
  kernel.apply = async (op) => (op.kind === "add-dest" && op.dest.address === "10.1.0.77" ? { ok: false as const, code: "ENOMEM", errno: 12 } : apply(op));
  const logs: LogRecord[] = [];
  const d = new Director({ openIpvs: async () => kernel, health: allUp(), vrrpStates: async () => [], log: createLogger({ level: "debug", sink: (r) => logs.push(r) }), intervalMs: 3_600_000, syncPollMs: 3_600_000 });
  const services = Array.from({ length: 10 }, (_, s): LvsdService => ({
    ...svc(),
    name: `s${s}`,
    vip: `10.0.1.${s + 1}`,
    sorryServer: undefined,
    realServers: Array.from({ length: 20 }, (_, r) => ({ address: `10.1.0.${s * 20 + r + 1}`, port: 80, weight: 1, inhibitOnFailure: false })),
  }));
  const rep = await d.start(cfg(services));
  assert.deepEqual([rep?.ops, rep?.failed, rep?.ok], [210, 1, false]);
  assert.deepEqual(batches, [210]);
  // each service is added before its real servers, in the plan's order
  assert.deepEqual(kernel.writes.filter((o) => o.kind === "add-service").length, 10);
  for (const [k, o] of kernel.writes.entries()) if (o.kind === "add-dest") assert.ok(kernel.writes.slice(0, k).some((p) => p.kind === "add-service" && JSON.stringify(p.service.key) === JSON.stringify(o.key)), `${describeOp(o)} before its service`);
  // the failed write did not stop the ones after it
  assert.equal(kernel.table.reduce((n, e) => n + e.dests.length, 0), 199);
  assert.equal(d.status()?.writes, 210);
  assert.deepEqual(logs.filter((l) => l.msg === "IPVS write failed").map((l) => [l.op, l.code]), [["add-dest TCP 10.0.1.4:80 -> 10.1.0.77:80 weight 1", "ENOMEM"]]);
  assert.ok(logs.some((l) => l.msg === "IPVS table programmed" && l.ops === 210 && l.failed === 1));
  // the next pass writes only the one that failed
  const again = await d.pass("periodic");
  assert.deepEqual([again?.ops, again?.ok], [1, false]);
  await d.stop();
});
