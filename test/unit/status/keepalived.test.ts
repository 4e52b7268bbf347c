// lvsctl status on a keepalived cluster, pure: probe output as the tools print it -> the status
// and its problems; and collect through a fake probe (one round trip per host, unreachable hosts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildStatus, clusterHealth, collect, exitCodeFor, formatStatus, parseIpvsadmList, parseRealServerProbe, arpMissing, type RawObservations } from "../../../src/status/index.js";
import { clusterFrom } from "../../fixtures/plan/clusters.js";
import { FakeConnection, fakeUnreachable } from "../../../src/ssh/fake.js";
import { directorOut, fakeProbe, listText, MASTER_ADDRS, realServerOut, saveText, statusCluster, statusInventory } from "./fixtures.js";

const cluster = statusCluster();
const AT = new Date("2026-12-03T10:00:00Z");
const healthyRaw = (): RawObservations => ({
  directors: [
    { name: "ds1", probe: directorOut("active", MASTER_ADDRS) },
    { name: "ds2", probe: directorOut("active", ["10.77.0.12"]) },
  ],
  realServers: [
    { name: "rs1", probe: realServerOut(["10.77.0.100"]) },
    { name: "rs2", probe: realServerOut(["10.77.0.100"]) },
  ],
});

test("ipvsadm -Ln: connection counts per service and real server (IPv4, NAT, fwmark, IPv6)", () => {
  const c = parseIpvsadmList(readFileSync(fileURLToPath(new URL("../../fixtures/status/ipvsadm-Ln.txt", import.meta.url)), "utf8"));
  assert.deepEqual(Object.fromEntries(c), {
    "TCP 10.77.0.100:80|10.77.0.21:80": { active: 3, inactive: 12 },
    "TCP 10.77.0.100:80|10.77.0.22:80": { active: 0, inactive: 5 },
    "TCP 10.77.0.101:8080|10.77.1.23:8080": { active: 1, inactive: 0 },
    "FWM 7|10.77.0.21:0": { active: 0, inactive: 0 },
    "UDP [2001:db8::100]:53|[2001:db8::21]:53": { active: 0, inactive: 2 },
  });
});

test("real server probe: lo addresses and ARP sysctls; all at the value covers every interface", () => {
  const f = parseRealServerProbe(realServerOut(["10.77.0.100"]));
  assert.ok(f.lo.has("10.77.0.100"));
  assert.deepEqual(arpMissing(f), []);
  assert.deepEqual(arpMissing(parseRealServerProbe(realServerOut([], { all: [0, 0], eth0: [1, 2] }))), [], "eth0 (the only interface) carries them");
  assert.deepEqual(arpMissing(parseRealServerProbe(realServerOut([], { all: [0, 2], eth0: [0, 0] }))), ["arp_ignore=1 (all is 0, eth0 below too)"]);
});

test("healthy keepalived cluster: ds1 master, both tables as the inventory says, real servers up with their counts; no problem", () => {
  const s = buildStatus(cluster, healthyRaw(), AT);
  assert.deepEqual(s.problems, []);
  assert.equal(s.healthy, true);
  assert.deepEqual(s.instances, [{ name: "VI_web", vrid: 51, vips: ["10.77.0.100", "10.77.1.1"], masters: ["ds1"] }]);
  const ds1 = s.directors[0]!;
  assert.deepEqual(ds1.instances, [{ name: "VI_web", role: "MASTER", daemonState: null, priority: 150, prioritySource: "inventory" }]);
  assert.deepEqual(ds1.daemon, { unit: "keepalived.service", state: "active", active: true });
  const web = ds1.ipvs![0]!;
  assert.equal(web.key, "TCP 10.77.0.100:80");
  assert.deepEqual(
    web.realServers.map((r) => [r.key, r.host, r.health, r.weight, r.activeConns, r.inactConns, r.healthReason]),
    [
      ["10.77.0.21:80", "rs1", "up", 1, 3, 12, "in the table: keepalived's HTTP_GET passes"],
      ["10.77.0.22:80", "rs2", "up", 2, 1, 4, "in the table: keepalived's HTTP_GET passes"],
    ],
  );
  assert.equal(ds1.ipvs![1]!.realServers[0]!.healthReason, "in the table (no check)");
  assert.deepEqual(s.realServers.map((r) => [r.host, r.vips, r.arpIgnore, r.arpAnnounce, r.missing]), [
    ["rs1", [{ address: "10.77.0.100", present: true }], 1, 2, []],
    ["rs2", [{ address: "10.77.0.100", present: true }], 1, 2, []],
  ]);
  assert.equal(exitCodeFor(s.problems), 0);
  assert.equal(JSON.parse(JSON.stringify(s)).checkedAt, "2026-12-03T10:00:00.000Z");
});

test("keepalived's checker at work is health, not drift: rs1 removed, rs2 inhibited to weight 0", () => {
  const raw = healthyRaw();
  const save = saveText({ drop: /10\.77\.0\.21/, rs2Weight: 0 });
  raw.directors[0]!.probe = directorOut("active", MASTER_ADDRS, save, listText({ drop: /10\.77\.0\.21/, rs2Weight: 0 }));
  const s = buildStatus(cluster, raw, AT);
  assert.deepEqual(
    s.problems.map((p) => [p.kind, p.message]),
    [
      ["health", "IPVS on ds1: service TCP 10.77.0.100:80: real server 10.77.0.21:80 (rs1) is down: absent from the table: keepalived's HTTP_GET removed it"],
      ["health", "IPVS on ds1: service TCP 10.77.0.100:80: real server 10.77.0.22:80 (rs2) is down: weight 0: keepalived's HTTP_GET failed (inhibit_on_failure)"],
    ],
  );
  assert.equal(s.directors[0]!.ipvs![0]!.realServers[0]!.activeConns, null, "not in the table: no counts");
  assert.equal(exitCodeFor(s.problems), 4);
});

test("drift: a hand-removed unchecked real server, an extra service, a scheduler; keepalived stopped; two masters; a real server without its VIP and ARP sysctls", () => {
  const raw = healthyRaw();
  raw.directors[0]!.probe = directorOut("active", MASTER_ADDRS, saveText({ drop: /10\.77\.1\.23/, extra: ["-A -u 10.77.0.100:53 -s rr"] }).replace("-s wrr", "-s rr"));
  raw.directors[1]!.probe = directorOut("inactive", MASTER_ADDRS);
  raw.realServers[1]!.probe = realServerOut([], { all: [0, 0] });
  const s = buildStatus(cluster, raw, AT);
  assert.deepEqual(
    s.problems.map((p) => `${p.kind}: ${p.message}`),
    [
      "drift: IPVS on ds1: service TCP 10.77.0.100:80: scheduler rr, the inventory says wrr",
      "drift: IPVS on ds1: service TCP 10.77.0.101:8080: real server 10.77.1.23:8080 is missing, and no check would remove it (edited by hand?)",
      "drift: IPVS on ds1: service UDP 10.77.0.100:53 is not in the inventory",
      "daemon: keepalived is not active on ds2 (systemctl: inactive)",
      "vrrp: VI_web: ds1 and ds2 all hold its VIPs (2 masters)",
      "realserver: rs2 (real server) lacks 10.77.0.100 on lo, arp_ignore=1 (all is 0, eth0 below too), arp_announce=2 (all is 0, eth0 below too)",
    ],
  );
  assert.equal(s.directors[0]!.ipvs![1]!.realServers[0]!.healthReason, "absent from the table, and no check would remove it (edited by hand?)");
  assert.equal(exitCodeFor(s.problems), 4);
});

test("keepalived stopped on a director: that one problem, not the table it cleared on the way out", () => {
  const raw = healthyRaw();
  raw.directors[1]!.probe = directorOut("inactive", ["10.77.0.12"], "", listText({ drop: /./ }));
  const s = buildStatus(cluster, raw, AT);
  assert.deepEqual(s.problems.map((p) => p.message), ["keepalived is not active on ds2 (systemctl: inactive)"]);
  assert.deepEqual(s.directors[1]!.ipvs!.map((x) => x.inTable), [false, false], "the table is still shown as it is");
});

test("the wrong director is master (preemption: the highest priority running should be), or none is", () => {
  const raw = healthyRaw();
  raw.directors[0]!.probe = directorOut("active", ["10.77.0.11"]);
  raw.directors[1]!.probe = directorOut("active", ["10.77.0.12", "10.77.0.100", "10.77.1.1"]);
  assert.deepEqual(buildStatus(cluster, raw, AT).problems.map((p) => p.message), [
    "VI_web: ds1 is BACKUP, expected MASTER (the inventory's priority 150; ds1 has the highest, 150, among the directors running keepalived)",
    "VI_web: ds2 is MASTER, expected BACKUP (the inventory's priority 100; ds1 has the highest, 150, among the directors running keepalived)",
  ]);
  raw.directors[1]!.probe = directorOut("active", ["10.77.0.12"]);
  assert.deepEqual(buildStatus(cluster, raw, AT).problems.map((p) => p.message), ["VI_web: no director holds its VIPs (no master)"]);
});

test("an unreachable director: exit 3 alone, no guess about masters; with a real problem beside it, 4", () => {
  const raw = healthyRaw();
  raw.directors[0] = { name: "ds1", error: "ds1: no SSH login within 10000 ms" };
  raw.directors[1]!.probe = directorOut("active", ["10.77.0.12"]);
  const s = buildStatus(cluster, raw, AT);
  assert.deepEqual(s.problems, [{ kind: "unreachable", host: "ds1", message: "cannot ask ds1: ds1: no SSH login within 10000 ms" }]);
  assert.equal(s.directors[0]!.reachable, false);
  assert.equal(exitCodeFor(s.problems), 3);
  raw.realServers[0]!.probe = realServerOut([]);
  assert.equal(exitCodeFor(buildStatus(cluster, raw, AT).problems), 4);
});

test("collect: one command per host (directors and the DR real servers; not rs3, NAT only), in parallel; clusterHealth says why not fit", async () => {
  const ds1 = new FakeConnection("ds1").on(/systemctl is-active/, { stdout: directorOut("active", MASTER_ADDRS) });
  const ds2 = new FakeConnection("ds2").on(/systemctl is-active/, { stdout: directorOut("active", ["10.77.0.12"]) });
  const rs1 = new FakeConnection("rs1").on(/arp_ignore/, { stdout: realServerOut(["10.77.0.100"]) });
  const probe = fakeProbe({ ds1, ds2, rs1, rs2: fakeUnreachable("rs2") });
  const h = await clusterHealth(cluster, probe, { now: () => AT });
  assert.deepEqual(probe.asked.sort(), ["ds1", "ds2", "rs1", "rs2"]);
  assert.match(ds1.commands()[0]!, /^sh -c 'systemctl is-active keepalived\.service; .*ipvsadm -Sn 2>&1; echo @@lvsctl-roll; ipvsadm -Ln 2>&1; true'$/);
  assert.equal(ds1.calls[0]!.become, true);
  assert.equal(h.healthy, false);
  assert.deepEqual(h.unreachable, ["rs2"]);
  assert.deepEqual(h.problems.map((p) => p.kind), ["unreachable"]);
  assert.match(h.problems[0]!.message, /^cannot ask rs2: rs2: no SSH login/);
  const all = await collect(cluster, fakeProbe({ ds1, ds2, rs1, rs2: rs1 }), { now: () => AT });
  assert.equal(all.healthy, true, JSON.stringify(all.problems));
});

test("VRRP only (no virtual service): a director without ip_vs is healthy, its table unread; with a service the same answer is a problem", () => {
  // What ipvsadm prints on a kernel without IPVS (a container on a host that has no ip_vs module).
  const noIpvs = "modprobe: FATAL: Module ip_vs not found in directory /lib/modules/6.1.0-28-amd64\nCan't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module\n";
  const text = statusInventory().replace(/\n  rs\d: .*/g, "").replace(/\n  realservers: .*/, "").replace(/\nvirtual_servers:[\s\S]*$/, "\n");
  const vrrpOnly = clusterFrom(text);
  assert.equal(vrrpOnly.services.length, 0);
  const raw: RawObservations = {
    directors: [
      { name: "ds1", probe: directorOut("active", MASTER_ADDRS, noIpvs, noIpvs) },
      { name: "ds2", probe: directorOut("active", ["10.77.0.12"], noIpvs, noIpvs) },
    ],
    realServers: [],
  };
  const s = buildStatus(vrrpOnly, raw, AT);
  assert.deepEqual(s.problems, []);
  assert.deepEqual(s.instances.map((i) => [i.name, i.masters]), [["VI_web", ["ds1"]]]);
  assert.deepEqual(s.directors.map((d) => [d.name, d.ipvs, d.error]), [["ds1", null, null], ["ds2", null, null]]);
  assert.match(formatStatus(s), /IPVS on ds1 \(MASTER\)\n  table not read: the inventory has no virtual service \(VRRP only\)\n/);

  const withServices = buildStatus(cluster, { ...raw, realServers: healthyRaw().realServers }, AT);
  assert.deepEqual(withServices.problems.map((p) => [p.kind, p.host]), [["daemon", "ds1"], ["daemon", "ds2"]]);
  assert.match(withServices.problems[0]!.message, /^ds1: cannot read its IPVS table: modprobe: FATAL: Module ip_vs not found/);
});
