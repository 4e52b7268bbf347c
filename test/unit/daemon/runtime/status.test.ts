import { test } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { renderMetrics } from "../../../../src/daemon/status/metrics.js";
import { startStatusServer } from "../../../../src/daemon/status/server.js";
import type { StatusSnapshot } from "../../../../src/daemon/status/types.js";
import { config, instance, rig, settle } from "./helpers.js";

async function snapshotOfAMaster(): Promise<StatusSnapshot> {
  const r = rig();
  await r.engine.start(config([instance()]));
  r.clock.advance(4000);
  await settle(r);
  r.channel.receive({ ifname: "eth0", source: "10.88.0.9", ttl: 64, version: 2, vrid: 51, priority: 50, intervalMs: 1000, addresses: [], authType: 0 });
  r.channel.reject({ reason: "bad-checksum" });
  return r.engine.snapshot();
}

test("metrics: Prometheus text with the families the issue names", async () => {
  const text = renderMetrics(await snapshotOfAMaster());
  const lines = text.split("\n");
  for (const name of ["lvsd_vrrp_state", "lvsd_vrrp_transitions_total", "lvsd_vrrp_adverts_sent_total", "lvsd_vrrp_adverts_received_total", "lvsd_vrrp_rejected_total", "lvsd_vip_restored_total"]) {
    assert.ok(lines.includes(`# TYPE ${name} ${name.endsWith("_total") ? "counter" : "gauge"}`), name);
  }
  assert.ok(lines.includes('lvsd_vrrp_state{instance="VI_1",vrid="51",interface="eth0"} 2'));
  assert.ok(lines.includes('lvsd_vrrp_transitions_total{instance="VI_1",vrid="51",interface="eth0"} 2'));
  assert.ok(lines.includes('lvsd_vrrp_rejected_total{instance="VI_1",vrid="51",interface="eth0",reason="ttl"} 1'));
  assert.ok(lines.includes('lvsd_vrrp_rejected_total{instance="",vrid="",interface="",reason="bad-checksum"} 1'));
  // every sample line is NAME{labels} VALUE
  for (const l of lines) if (l && !l.startsWith("#")) assert.match(l, /^[a-z_]+(\{[^}]*\})? -?\d+(\.\d+)?$/);
});

test("metrics: label values are escaped", () => {
  const snap: StatusSnapshot = { routerId: "r", pid: 1, startedAt: "", uptimeSec: 0, syncGroups: [], rejected: {}, instances: [] };
  snap.instances.push({
    name: 'we"ird\\name', vrid: 1, interface: "eth0", version: 2, state: "BACKUP", priority: 1, advertIntervalMs: 1000, masterAddress: null, primaryIp: "",
    transitions: 0, lastTransition: null, advertsSent: 0, advertsReceived: 0, rejected: {}, vips: [], vipsRestored: 0, lowerPriorityAdverts: 0, syncGroup: null,
  });
  assert.ok(renderMetrics(snap).includes('instance="we\\"ird\\\\name"'));
});

test("status server: GET /status JSON, GET /metrics text, 404 elsewhere, loopback only", async () => {
  const snap = await snapshotOfAMaster();
  const server = await startStatusServer({ port: 0, snapshot: async () => snap });
  try {
    const addr = server.address() as AddressInfo;
    assert.equal(addr.address, "127.0.0.1");
    const base = `http://127.0.0.1:${addr.port}`;
    const s = await fetch(`${base}/status`);
    assert.equal(s.status, 200);
    const body = (await s.json()) as StatusSnapshot;
    assert.equal(body.instances[0]!.state, "MASTER");
    assert.equal(body.instances[0]!.rejected.ttl, 1);
    assert.deepEqual(body.instances[0]!.vips, ["10.88.0.100/24"]);
    const m = await fetch(`${base}/metrics`);
    assert.match(m.headers.get("content-type") ?? "", /text\/plain/);
    assert.match(await m.text(), /lvsd_vrrp_adverts_sent_total/);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/status`, { method: "POST" })).status, 405);
  } finally {
    server.close();
  }
});
