// The director rolls' judgement (keepalived and lvsd), pure: who is master (the director holding an instance's VIPs,
// read from `ip -j addr show`), exactly one master per instance, the role the priorities give the
// director just deployed, and its IPVS table against the inventory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { judgeDirector, keepalivedRoll, lvsdRoll, parseIpAddrJson, parseProbe, type DirectorProbe } from "../../../src/roll/index.js";
import { labCluster } from "../../fixtures/plan/clusters.js";
import type { Command, ExecResult } from "../../../src/ssh/types.js";

/** `ip -j addr show` as iproute2 6.1 prints it (trimmed to the fields the parser reads and a few more). */
function ipJson(eth0: string[]): string {
  return JSON.stringify([
    { ifindex: 1, ifname: "lo", flags: ["LOOPBACK", "UP", "LOWER_UP"], mtu: 65536, operstate: "UNKNOWN", addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8, scope: "host", label: "lo" }] },
    { ifindex: 2, ifname: "eth0", flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], mtu: 1500, operstate: "UP", addr_info: eth0.map((a) => ({ family: "inet", local: a, prefixlen: 24, scope: "global", label: "eth0" })) },
  ]);
}

const cluster = labCluster();
const MARK = "@@lvsctl-roll\n";
const TABLE = ["-A -t 10.77.0.100:80 -s wlc", "-a -t 10.77.0.100:80 -r 10.77.0.21:80 -g -w 1", "-a -t 10.77.0.100:80 -r 10.77.0.22:80 -g -w 1", "-A -t 10.77.0.101:8080 -s wlc", "-a -t 10.77.0.101:8080 -r 10.77.1.23:8080 -m -w 1"].join("\n") + "\n";
/** What the probe script prints on a director. */
const out = (active: string, eth0: string[], ipvs = TABLE) => `${active}\n${MARK}${ipJson(eth0)}\n${MARK}${ipvs}`;
const MASTER = ["10.77.0.11", "10.77.0.100", "10.77.1.1"];

test("ip -j addr: address and interface pairs", () => {
  assert.deepEqual([...parseIpAddrJson(ipJson(["10.77.0.11", "10.77.0.100"]))], ["127.0.0.1 lo", "10.77.0.11 eth0", "10.77.0.100 eth0"]);
  assert.throws(() => parseIpAddrJson("Device \"eth9\" does not exist."));
});

test("probe output -> roles: all VIPs MASTER, none BACKUP, some PARTIAL", () => {
  assert.deepEqual(parseProbe(cluster, "ds1", out("active", MASTER)).roles, { VI_web: "MASTER" });
  assert.deepEqual(parseProbe(cluster, "ds2", out("active", ["10.77.0.12"])).roles, { VI_web: "BACKUP" });
  assert.deepEqual(parseProbe(cluster, "ds2", out("active", ["10.77.0.12", "10.77.0.100"])).roles, { VI_web: "PARTIAL" });
  assert.equal(parseProbe(cluster, "ds2", out("inactive", ["10.77.0.12"])).active, false);
});

const views = (ds1: string, ds2: string): DirectorProbe[] => [parseProbe(cluster, "ds1", ds1), parseProbe(cluster, "ds2", ds2)];

test("gate passes: the backup just deployed is BACKUP, ds1 the one master, the table as the inventory says", () => {
  const table = TABLE.replaceAll("-s wlc", `-s ${cluster.services[0]!.lbAlgo}`);
  assert.deepEqual(judgeDirector(cluster, "ds2", views(out("active", MASTER, table), out("active", ["10.77.0.12"], table))), []);
  assert.deepEqual(judgeDirector(cluster, "ds1", views(out("active", MASTER, table), out("active", ["10.77.0.12"], table))), []);
  // Alone (ds2 not running keepalived): ds1 must be master.
  assert.deepEqual(judgeDirector(cluster, "ds1", views(out("active", MASTER, table), out("inactive", ["10.77.0.12"], ""))), []);
});

test("gate fails, naming why: not active, two masters, no master, wrong role, a partial holder, the IPVS table, an unreachable peer", () => {
  const table = TABLE.replaceAll("-s wlc", `-s ${cluster.services[0]!.lbAlgo}`);
  assert.deepEqual(judgeDirector(cluster, "ds2", views(out("active", MASTER, table), out("failed", ["10.77.0.12"], table))), ["keepalived is not active on ds2"]);
  assert.deepEqual(judgeDirector(cluster, "ds2", views(out("active", MASTER, table), out("active", ["10.77.0.12", "10.77.0.100", "10.77.1.1"], table))), [
    "VI_web: ds1 and ds2 both hold its VIPs (two masters)",
    "VI_web: ds2 is MASTER, expected BACKUP (priority 100; ds1 has the highest priority, 150, among the directors running VRRP)",
  ]);
  assert.deepEqual(judgeDirector(cluster, "ds1", views(out("active", ["10.77.0.11"], table), out("active", ["10.77.0.12"], table))), [
    "VI_web: no director holds its VIPs (no master)",
    "VI_web: ds1 is BACKUP, expected MASTER (priority 150; ds1 has the highest priority, 150, among the directors running VRRP)",
  ]);
  assert.deepEqual(judgeDirector(cluster, "ds2", views(out("active", MASTER, table), out("active", ["10.77.0.12", "10.77.1.1"], table))), ["VI_web: ds2 holds only some of its VIPs"]);
  const noRs2 = table.split("\n").filter((l) => !l.includes("10.77.0.22")).join("\n");
  assert.deepEqual(judgeDirector(cluster, "ds2", views(out("active", MASTER, table), out("active", ["10.77.0.12"], noRs2))), ["IPVS on ds2: service TCP 10.77.0.100:80: real server 10.77.0.22:80 is missing (its check failing?)"]);
  assert.deepEqual(judgeDirector(cluster, "ds2", views(out("active", MASTER, table), out("active", ["10.77.0.12"], "Can't initialize ipvs: Protocol not available\n"))), ["ipvsadm -Sn on ds2: Can't initialize ipvs: Protocol not available"]);
  const lost: DirectorProbe = { director: "ds1", active: false, roles: {}, ipvs: "", error: "unreachable" };
  assert.deepEqual(judgeDirector(cluster, "ds2", [lost, parseProbe(cluster, "ds2", out("active", ["10.77.0.12"], table))]), ["cannot ask ds1: unreachable", "VI_web: no director holds its VIPs (no master)", "VI_web: ds2 is BACKUP, expected MASTER (priority 100; ds2 has the highest priority, 100, among the directors running VRRP)"]);
});

/** A probe answering from a table of director -> stdout; records who was asked. */
function fakeProbe(answers: Record<string, () => string>) {
  const asked: string[] = [];
  return {
    asked,
    async exec(host: string, _cmd: Command): Promise<ExecResult> {
      asked.push(host);
      const a = answers[host];
      if (!a) throw new Error("unreachable");
      return { code: 0, stdout: Buffer.from(a()), stderr: Buffer.alloc(0) };
    },
  };
}

test("order: the director holding the VIPs now goes last, whatever the inventory says; none holding: highest priority first", async () => {
  const roll = keepalivedRoll(cluster);
  // A failover left ds2 master: ds1 (the inventory's master) goes first.
  const failedOver = fakeProbe({ ds1: () => out("active", ["10.77.0.11"]), ds2: () => out("active", ["10.77.0.12", "10.77.0.100", "10.77.1.1"]) });
  const o = await roll.order(["ds1", "ds2"], failedOver);
  assert.deepEqual(o.hosts, ["ds1", "ds2"]);
  assert.match(o.reason, /VI_web MASTER on ds2 now: backups first, then the master/);
  const normal = await roll.order(["ds1", "ds2"], fakeProbe({ ds1: () => out("active", MASTER), ds2: () => out("active", ["10.77.0.12"]) }));
  assert.deepEqual(normal.hosts, ["ds2", "ds1"]);
  const fresh = await roll.order(["ds2", "ds1"], fakeProbe({ ds1: () => out("inactive", ["10.77.0.11"], ""), ds2: () => out("inactive", ["10.77.0.12"], "") }));
  assert.deepEqual(fresh.hosts, ["ds1", "ds2"]);
  assert.match(fresh.reason, /no director holds a VIP now: highest priority first/);
});

test("gate: polls until the cluster settles, or gives up after the timeout with every reason", async () => {
  const roll = keepalivedRoll(cluster);
  const table = TABLE.replaceAll("-s wlc", `-s ${cluster.services[0]!.lbAlgo}`);
  let t = 0;
  let polls = 0;
  const clock = { now: () => t, sleep: async (ms: number) => void (t += ms), aborted: () => false, timeoutMs: 10_000 };
  // ds1 becomes master on the third poll (VRRP's master-down timer).
  const settling = fakeProbe({ ds1: () => (++polls >= 3 ? out("active", MASTER, table) : out("active", ["10.77.0.11"], table)), ds2: () => out("inactive", ["10.77.0.12"], "") });
  const ok = await roll.gate("ds1", settling, clock);
  assert.equal(ok.ok, true, ok.reason);
  assert.equal(polls, 3);
  assert.match(ok.reason, /^VI_web MASTER on ds1; keepalived active on ds1/);
  t = 0;
  const never = await roll.gate("ds2", fakeProbe({ ds1: () => out("active", MASTER, table), ds2: () => out("failed", ["10.77.0.12"], table) }), clock);
  assert.equal(never.ok, false);
  assert.equal(never.reason, "keepalived is not active on ds2 (after 10 s; VI_web MASTER on ds1)");
});

// The lvsd roll: the same strategy with lvsd.service as the daemon. The probe prints one state
// line per VRRP daemon (keepalived, then lvsd), as `systemctl is-active A B` does.
const out2 = (keepalived: string, lvsd: string, eth0: string[], ipvs = TABLE) => out(`${keepalived}\n${lvsd}`, eth0, ipvs);

test("lvsd roll, gate: lvsd active, its role, one master, its IPVS table; keepalived beside it is refused", async () => {
  const table = TABLE.replaceAll("-s wlc", `-s ${cluster.services[0]!.lbAlgo}`);
  const views = (ds1: string, ds2: string): DirectorProbe[] => [parseProbe(cluster, "ds1", ds1, "lvsd"), parseProbe(cluster, "ds2", ds2, "lvsd")];
  assert.deepEqual(parseProbe(cluster, "ds1", out2("inactive", "active", MASTER), "lvsd").daemons, ["lvsd"]);
  assert.equal(parseProbe(cluster, "ds1", out2("active", "inactive", MASTER), "lvsd").active, false);
  assert.deepEqual(judgeDirector(cluster, "ds2", views(out2("inactive", "active", MASTER, table), out2("inactive", "active", ["10.77.0.12"], table)), "lvsd"), []);
  assert.deepEqual(judgeDirector(cluster, "ds2", views(out2("inactive", "active", MASTER, table), out2("inactive", "failed", ["10.77.0.12"], table)), "lvsd"), ["lvsd is not active on ds2"]);
  assert.deepEqual(judgeDirector(cluster, "ds2", views(out2("inactive", "active", MASTER, table), out2("active", "active", ["10.77.0.12"], table)), "lvsd"), ["keepalived is active on ds2 beside lvsd (one VRRP daemon per director)"]);
  // The IPVS table is judged as for keepalived.
  const noRs2 = table.split("\n").filter((l) => !l.includes("10.77.0.22")).join("\n");
  assert.deepEqual(judgeDirector(cluster, "ds2", views(out2("inactive", "active", MASTER, table), out2("inactive", "active", ["10.77.0.12"], noRs2)), "lvsd"), ["IPVS on ds2: service TCP 10.77.0.100:80: real server 10.77.0.22:80 is missing (its check failing?)"]);
});

test("switching backends: a director still running keepalived counts as running VRRP when the lvsd director's role is judged", () => {
  const table = TABLE.replaceAll("-s wlc", `-s ${cluster.services[0]!.lbAlgo}`);
  // ds2 (priority 100) switched to lvsd first, ds1 (150) still runs keepalived and holds the VIPs:
  // ds2 is rightly BACKUP. Were keepalived not counted, ds2 would be expected MASTER.
  const mixed = [parseProbe(cluster, "ds1", out2("active", "inactive", MASTER, table), "lvsd"), parseProbe(cluster, "ds2", out2("inactive", "active", ["10.77.0.12"], table), "lvsd")];
  assert.deepEqual(judgeDirector(cluster, "ds2", mixed, "lvsd"), []);
  // ds2 took the VIPs while ds1 runs keepalived at a higher priority: wrong, and said so.
  const wrong = [parseProbe(cluster, "ds1", out2("active", "inactive", ["10.77.0.11"], table), "lvsd"), parseProbe(cluster, "ds2", out2("inactive", "active", ["10.77.0.12", "10.77.0.100", "10.77.1.1"], table), "lvsd")];
  assert.deepEqual(judgeDirector(cluster, "ds2", wrong, "lvsd"), ["VI_web: ds2 is MASTER, expected BACKUP (priority 100; ds1 has the highest priority, 150, among the directors running VRRP)"]);
});

test("lvsd roll: order as keepalived's (the master now last), gate polls until lvsd is up and master", async () => {
  const roll = lvsdRoll(cluster);
  const table = TABLE.replaceAll("-s wlc", `-s ${cluster.services[0]!.lbAlgo}`);
  // Mid-switch: ds1 holds the VIPs under keepalived; it goes last.
  const o = await roll.order(["ds1", "ds2"], fakeProbe({ ds1: () => out2("active", "inactive", MASTER), ds2: () => out2("active", "inactive", ["10.77.0.12"]) }));
  assert.deepEqual(o.hosts, ["ds2", "ds1"]);
  let t = 0;
  let polls = 0;
  const clock = { now: () => t, sleep: async (ms: number) => void (t += ms), aborted: () => false, timeoutMs: 10_000 };
  // ds1 just switched: lvsd starting (Node takes seconds), ds2 (lvsd) holds the VIPs meanwhile; ds1 preempts on the third poll.
  const probe = fakeProbe({
    ds1: () => (++polls >= 3 ? out2("inactive", "active", MASTER, table) : out2("inactive", polls === 1 ? "activating" : "active", ["10.77.0.11"], table)),
    ds2: () => (polls >= 3 ? out2("inactive", "active", ["10.77.0.12"], table) : out2("inactive", "active", ["10.77.0.12", "10.77.0.100", "10.77.1.1"], table)),
  });
  const ok = await roll.gate("ds1", probe, clock);
  assert.equal(ok.ok, true, ok.reason);
  assert.equal(polls, 3);
  assert.match(ok.reason, /^VI_web MASTER on ds1; lvsd active on ds1/);
});

test("a VRRP-only cluster (no virtual service): the gate reads no IPVS table, so a kernel without IPVS passes", () => {
  const vrrpOnly = { ...cluster, services: [] };
  const noIpvs = "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n";
  const v = [parseProbe(vrrpOnly, "ds1", out("active", MASTER, noIpvs)), parseProbe(vrrpOnly, "ds2", out("active", ["10.77.0.12"], noIpvs))];
  assert.deepEqual(judgeDirector(vrrpOnly, "ds1", v), []);
  assert.deepEqual(judgeDirector(vrrpOnly, "ds2", v), []);
  // The same probe against a cluster with services names the failed read.
  assert.match(judgeDirector(cluster, "ds1", [parseProbe(cluster, "ds1", out("active", MASTER, noIpvs)), parseProbe(cluster, "ds2", out("active", ["10.77.0.12"], noIpvs))]).join("\n"), /ipvsadm -Sn on ds1: Can't initialize ipvs/);
});
