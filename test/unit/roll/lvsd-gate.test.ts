// The lvsd roll's gate asks lvsd itself (GET /status through the SSH connection) once the kernel
// looks right: its VRRP state as the VIPs held say, the inventory's services in its running
// config, its IPVS table programmed. The kernel alone cannot tell a running lvsd from what a
// killed one left behind. Snapshots are built by lvsd's own code (test/unit/status/lvsd-snapshot.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { judgeLvsdStatus, keepalivedRoll, lvsdRoll, type RollProbe } from "../../../src/roll/index.js";
import type { StatusSnapshot } from "../../../src/daemon/status/types.js";
import type { HttpResponse } from "../../../src/ssh/http.js";
import { directorOut, MASTER_ADDRS, statusCluster } from "../status/fixtures.js";
import { lvsdSnapshot } from "../status/lvsd-snapshot.js";

const cluster = statusCluster("lvsd");
/** The roll's probe asks systemd about keepalived, then lvsd: one state line each. */
const kernel = (eth0: string[]) => directorOut("inactive\nactive", eth0);
const BACKUP_ADDRS = ["10.77.0.12"];

test("judgeLvsdStatus: agrees; another VRRP state; a table not programmed; a config not loaded; IPVS unreachable; no pass yet", () => {
  const master = lvsdSnapshot(cluster, "ds1", "MASTER");
  assert.deepEqual(judgeLvsdStatus(cluster, "ds1", { VI_web: "MASTER" }, master), []);
  assert.deepEqual(judgeLvsdStatus(cluster, "ds2", { VI_web: "BACKUP" }, lvsdSnapshot(cluster, "ds2", "BACKUP")), []);
  // The kernel holds the VIPs on ds1 (a killed lvsd left them) but lvsd there is still BACKUP.
  assert.deepEqual(judgeLvsdStatus(cluster, "ds1", { VI_web: "MASTER" }, lvsdSnapshot(cluster, "ds1", "BACKUP")), ["VI_web: lvsd on ds1 says BACKUP, while ds1 holds its VIPs"]);
  assert.deepEqual(judgeLvsdStatus(cluster, "ds2", { VI_web: "BACKUP" }, lvsdSnapshot(cluster, "ds2", "MASTER")), ["VI_web: lvsd on ds2 says MASTER, while ds2 holds none of its VIPs"]);
  // PARTIAL is the kernel judge's to report; lvsd's state is not compared then.
  assert.deepEqual(judgeLvsdStatus(cluster, "ds1", { VI_web: "PARTIAL" }, master), []);
  // rs1 missing from the kernel while lvsd wants it in.
  const noRs1 = lvsdSnapshot(cluster, "ds1", "MASTER", { kernel: (d) => d.map((e) => ({ ...e, dests: e.dests.filter((x) => x.address !== "10.77.0.21") })) });
  assert.deepEqual(judgeLvsdStatus(cluster, "ds1", { VI_web: "MASTER" }, noRs1), ["service TCP 10.77.0.100:80: real server 10.77.0.21:80 has no entry in ds1's kernel, lvsd wants weight 1"]);
  // A service not in the kernel at all.
  const noNat = lvsdSnapshot(cluster, "ds1", "MASTER", { kernel: (d) => d.filter((e) => !e.dests.some((x) => x.address === "10.77.1.23")) });
  assert.ok(judgeLvsdStatus(cluster, "ds1", { VI_web: "MASTER" }, noNat).includes("service TCP 10.77.0.101:8080 is not in ds1's kernel table yet (lvsd on ds1)"));
  // The running config lacks a service of the inventory (a reload not applied yet).
  const oldConfig: StatusSnapshot = { ...master, ipvs: { ...master.ipvs!, services: master.ipvs!.services.filter((s) => !s.id.includes("8080")) } };
  assert.deepEqual(judgeLvsdStatus(cluster, "ds1", { VI_web: "MASTER" }, oldConfig), ["service TCP 10.77.0.101:8080 is not in lvsd's running config on ds1 (the new config not loaded yet?)"]);
  assert.deepEqual(judgeLvsdStatus(cluster, "ds1", { VI_web: "MASTER" }, { ...master, ipvs: { ...master.ipvs!, available: false, error: "Protocol not available" } }), ["lvsd on ds1 cannot reach the kernel's IPVS: Protocol not available"]);
  assert.deepEqual(judgeLvsdStatus(cluster, "ds1", { VI_web: "MASTER" }, { ...master, ipvs: { ...master.ipvs!, passes: 0 } }), ["lvsd on ds1 has not programmed IPVS yet"]);
  const { ipvs: _none, ...noIpvs } = master;
  assert.deepEqual(judgeLvsdStatus(cluster, "ds1", { VI_web: "MASTER" }, noIpvs), ["lvsd on ds1 keeps no IPVS table: its running config has no service (the new config not loaded yet?)"]);
  assert.deepEqual(judgeLvsdStatus(cluster, "ds1", { VI_web: "MASTER" }, { ...master, instances: [] }), ["VI_web: lvsd on ds1 does not run it (its running config is not the inventory's yet?)"]);
});

/** A roll probe: each director's probe output and lvsd's GET /status answer, per poll. */
function probe(p: { ds1: () => string; ds2: () => string; status?: (host: string) => StatusSnapshot | Error }): RollProbe & { gets: string[] } {
  const gets: string[] = [];
  const out: RollProbe & { gets: string[] } = {
    gets,
    async exec(host) {
      const a = host === "ds1" ? p.ds1() : p.ds2();
      return { code: 0, stdout: Buffer.from(a), stderr: Buffer.alloc(0) };
    },
  };
  if (p.status) {
    const status = p.status;
    out.httpGet = async (host, port, path): Promise<HttpResponse> => {
      gets.push(`${host}:${port}${path}`);
      const s = status(host);
      if (s instanceof Error) throw s;
      return { status: 200, headers: { "content-type": "application/json" }, body: Buffer.from(JSON.stringify(s)) };
    };
  }
  return out;
}

test("lvsd roll, gate: polls until lvsd answers and agrees with the kernel, not just until the unit is active", async () => {
  let t = 0;
  const clock = { now: () => t, sleep: async (ms: number) => void (t += ms), aborted: () => false, timeoutMs: 10_000 };
  // ds1 restarted (an upgrade): the kernel kept its VIPs and table from the first poll on; the new
  // lvsd does not answer on the first poll, is still BACKUP on the second, agrees on the third.
  let polls = 0;
  const answers = [new Error("connect ECONNREFUSED 127.0.0.1:9547"), lvsdSnapshot(cluster, "ds1", "BACKUP"), lvsdSnapshot(cluster, "ds1", "MASTER")];
  const p = probe({ ds1: () => kernel(MASTER_ADDRS), ds2: () => kernel(BACKUP_ADDRS), status: () => answers[Math.min(polls++, 2)]! });
  const ok = await lvsdRoll(cluster).gate("ds1", p, clock);
  assert.equal(ok.ok, true, ok.reason);
  assert.deepEqual(p.gets, ["ds1:9547/status", "ds1:9547/status", "ds1:9547/status"]);
  assert.match(ok.reason, /lvsd's status agrees \(its VRRP state, its IPVS table programmed\)/);

  // Never agreeing: the gate fails with lvsd's reason.
  t = 0;
  const stuck = probe({ ds1: () => kernel(MASTER_ADDRS), ds2: () => kernel(BACKUP_ADDRS), status: () => lvsdSnapshot(cluster, "ds1", "BACKUP") });
  const bad = await lvsdRoll(cluster).gate("ds1", stuck, { ...clock, timeoutMs: 3000 });
  assert.equal(bad.ok, false);
  assert.match(bad.reason, /^VI_web: lvsd on ds1 says BACKUP, while ds1 holds its VIPs \(after 3 s; VI_web MASTER on ds1\)$/);
  const down = await lvsdRoll(cluster).gate("ds1", probe({ ds1: () => kernel(MASTER_ADDRS), ds2: () => kernel(BACKUP_ADDRS), status: () => new Error("connect ECONNREFUSED 127.0.0.1:9547") }), { ...clock, timeoutMs: 1000 });
  assert.match(down.reason, /^cannot read lvsd's status on ds1 \(127\.0\.0\.1:9547\): connect ECONNREFUSED 127\.0\.0\.1:9547/);
});

test("lvsd roll, gate: lvsd is asked only once the kernel looks right; a probe without GET and keepalived's roll judge the kernel alone", async () => {
  const clock = { now: () => 0, sleep: async () => undefined, aborted: () => true, timeoutMs: 0 };
  // ds1 holds no VIP yet: the kernel's problem is reported, lvsd not asked.
  const early = probe({ ds1: () => kernel(["10.77.0.11"]), ds2: () => kernel(BACKUP_ADDRS), status: () => lvsdSnapshot(cluster, "ds1", "MASTER") });
  const r = await lvsdRoll(cluster).gate("ds1", early, clock);
  assert.equal(r.ok, false);
  assert.deepEqual(early.gets, []);
  const noGet = await lvsdRoll(cluster).gate("ds1", probe({ ds1: () => kernel(MASTER_ADDRS), ds2: () => kernel(BACKUP_ADDRS) }), clock);
  assert.equal(noGet.ok, true, noGet.reason);
  assert.doesNotMatch(noGet.reason, /lvsd's status/);
  const ka = probe({ ds1: () => directorOut("active\ninactive", MASTER_ADDRS), ds2: () => directorOut("active\ninactive", BACKUP_ADDRS), status: () => new Error("not asked") });
  const k = await keepalivedRoll(statusCluster("keepalived")).gate("ds1", ka, clock);
  assert.equal(k.ok, true, k.reason);
  assert.deepEqual(ka.gets, []);
});
