// lvsctl status on an lvsd cluster: lvsd's GET /status, read through the SSH connection. The
// snapshots here are built by lvsd's own code (lvsd-snapshot.ts), so the shape is the one lvsd serves.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { StatusSnapshot } from "../../../src/daemon/status/types.js";
import { buildStatus, collect, exitCodeFor } from "../../../src/status/index.js";
import { FakeConnection } from "../../../src/ssh/fake.js";
import { directorOut, fakeProbe, MASTER_ADDRS, realServerOut, statusCluster } from "./fixtures.js";
import { lvsdSnapshot, type LvsdSnapshotOptions } from "./lvsd-snapshot.js";

const cluster = statusCluster("lvsd");
const AT = new Date("2026-12-03T10:00:00Z");

/** lvsd's snapshot on `director` for this cluster (lvsd-snapshot.ts). */
const snapshot = (director: string, state: "MASTER" | "BACKUP", opts: LvsdSnapshotOptions = {}): StatusSnapshot => lvsdSnapshot(cluster, director, state, opts);

const http = (s: StatusSnapshot) => (req: string) => (req.startsWith("GET /status HTTP/1.0\r\n") ? `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n${JSON.stringify(s)}` : "HTTP/1.1 404 Not Found\r\n\r\n");

function hosts(ds1: StatusSnapshot | undefined, ds2: StatusSnapshot, ds1Active = "active") {
  const c1 = new FakeConnection("ds1").on(/systemctl is-active/, { stdout: directorOut(ds1Active, MASTER_ADDRS, "/bin/sh: 1: ipvsadm: not found\n", "/bin/sh: 1: ipvsadm: not found\n") });
  if (ds1) c1.onLoopback(cluster.lvsd.statusPort, http(ds1));
  const c2 = new FakeConnection("ds2").on(/systemctl is-active/, { stdout: directorOut("active", ["10.77.0.12"]) }).onLoopback(cluster.lvsd.statusPort, http(ds2));
  const rs = new FakeConnection("rs").on(/arp_ignore/, { stdout: realServerOut(["10.77.0.100"]) });
  return { ds1: c1, ds2: c2, rs1: rs, rs2: rs };
}

test("lvsd: state and priority from lvsd itself, the table with each real server's health, weight and connections, read over the SSH connection (no ipvsadm needed)", async () => {
  const h = hosts(snapshot("ds1", "MASTER"), snapshot("ds2", "BACKUP"));
  const s = await collect(cluster, fakeProbe(h), { now: () => AT });
  assert.deepEqual(s.problems, []);
  assert.deepEqual(h.ds1.loopbackOpens, [9547], "lvsd's status port, on the director's loopback");
  assert.match(h.ds1.commands()[0]!, /systemctl is-active lvsd\.service/);
  const ds1 = s.directors[0]!;
  assert.deepEqual(ds1.instances, [{ name: "VI_web", role: "MASTER", daemonState: "MASTER", priority: 150, prioritySource: "lvsd" }]);
  assert.deepEqual(ds1.lvsd, { pid: 4242, uptimeSec: 3600, routerId: "ds1" });
  assert.deepEqual(s.directors[1]!.instances[0]!.daemonState, "BACKUP");
  assert.deepEqual(
    ds1.ipvs![0]!.realServers.map((r) => [r.key, r.host, r.health, r.weight, r.expectedWeight, r.activeConns, r.inactConns, r.healthReason]),
    [
      ["10.77.0.21:80", "rs1", "up", 1, 1, 2, 7, "lvsd's HTTP_GET passes"],
      ["10.77.0.22:80", "rs2", "up", 2, 2, 2, 7, "lvsd's HTTP_GET passes"],
    ],
  );
  assert.equal(ds1.ipvs![1]!.realServers[0]!.healthReason, "lvsd's check passes");
});

test("lvsd: a failing check is health (with lvsd's reason); a kernel entry lvsd has not put back is drift; MASTER without the VIPs is VRRP", () => {
  const ds1 = snapshot("ds1", "MASTER", { down: ["10.77.0.22"], kernel: (d) => d.map((e) => ({ ...e, dests: e.dests.filter((x) => x.address !== "10.77.0.21") })) });
  const raw = {
    directors: [
      { name: "ds1", probe: directorOut("active", MASTER_ADDRS), lvsd: { snapshot: ds1 } },
      { name: "ds2", probe: directorOut("active", ["10.77.0.12"]), lvsd: { snapshot: snapshot("ds2", "MASTER") } },
    ],
    realServers: [
      { name: "rs1", probe: realServerOut(["10.77.0.100"]) },
      { name: "rs2", probe: realServerOut(["10.77.0.100"]) },
    ],
  };
  const s = buildStatus(cluster, raw, AT);
  assert.deepEqual(
    s.problems.map((p) => `${p.kind}: ${p.message}`),
    [
      "drift: IPVS on ds1: service TCP 10.77.0.100:80: real server 10.77.0.21:80 has no entry in the kernel, lvsd wants weight 1",
      "health: IPVS on ds1: service TCP 10.77.0.100:80: real server 10.77.0.22:80 (rs2) is down: lvsd's HTTP_GET: HTTP 503 on /health",
      "vrrp: VI_web: lvsd on ds2 says MASTER but ds2 holds none of its VIPs",
    ],
  );
  assert.equal(exitCodeFor(s.problems), 4);
});

test("lvsd: its unit stopped and its status port closed is one clear problem per director", async () => {
  const h = hosts(undefined, snapshot("ds2", "MASTER"), "inactive");
  h.ds2.on(/systemctl is-active/, { stdout: directorOut("active", MASTER_ADDRS) });
  const s = await collect(cluster, fakeProbe(h), { now: () => AT });
  assert.deepEqual(s.problems.map((p) => p.message), [
    "lvsd is not active on ds1 (systemctl: inactive)",
    "ds1: cannot read lvsd's status: ds1: cannot reach 127.0.0.1:9547 on the host through SSH: Connection refused (hint: nothing answers there (fake))",
    "VI_web: ds1 and ds2 all hold its VIPs (2 masters)",
  ]);
});
