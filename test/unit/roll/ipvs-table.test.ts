// The IPVS comparer of the rolling gate: `ipvsadm -Sn` as the real kernel prints it
// (test/fixtures/roll: lines ipvsadm 1.31 printed in a qemu guest with Debian's kernel,
// test/lab/qemu-ipvs.test.ts), against what the inventory says.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { canonicalAddress, compareIpvs, expectedIpvs, parseIpvsadmSave } from "../../../src/roll/index.js";
import { clusterFrom, labCluster } from "../../fixtures/plan/clusters.js";

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/roll/${name}`, import.meta.url), "utf8");

test("parse: services of every kind, destinations with their forwarding method and weight, nothing unknown", () => {
  const { table, unknown } = parseIpvsadmSave(fixture("ipvsadm-Sn-mixed.txt"));
  assert.deepEqual(unknown, []);
  assert.deepEqual(
    table.map((s) => [s.key, s.scheduler, s.persistence, s.netmask, s.dests.map((d) => `${d.key} ${d.forward} ${d.weight}`)]),
    [
      ["TCP 10.78.1.200:80", "wrr", undefined, undefined, ["10.78.1.21:80 DR 2", "10.78.1.22:8080 NAT 5"]],
      ["UDP 10.78.1.200:53", "rr", undefined, undefined, ["10.78.1.21:53 TUN 1", "[fd00:78::b]:53 TUN 1"]],
      ["FWM 7", "sh", 300, "255.255.255.0", ["10.78.1.22:0 DR 1"]],
      ["TCP [fd00:78::100]:80", "wrr", undefined, undefined, ["[fd00:78::a]:80 DR 2", "[fd00:78::b]:8080 NAT 5"]],
      ["FWM6 7", "rr", 120, "64", ["[fd00:78::a]:0 DR 1"]],
    ],
  );
});

test("parse: an empty table, and lines that are not rules are kept as unknown", () => {
  assert.deepEqual(parseIpvsadmSave(""), { table: [], unknown: [] });
  const r = parseIpvsadmSave("Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n");
  assert.equal(r.table.length, 0);
  assert.equal(r.unknown.length, 2);
});

test("canonical addresses: IPv6 compressed and lower case, as ipvsadm prints them", () => {
  assert.equal(canonicalAddress("FD00:0078:0000::000A"), "fd00:78::a");
  assert.equal(canonicalAddress("[fd00:78::a]"), "fd00:78::a");
  assert.equal(canonicalAddress("10.0.0.1"), "10.0.0.1");
});

const save = (lines: string[]) => lines.join("\n") + "\n";
/** labCluster: DR 10.77.0.100:80 rr over rs1 rs2 (weight 1), NAT 10.77.0.101:8080 over rs3. */
const RIGHT = ["-A -t 10.77.0.100:80 -s wlc", "-a -t 10.77.0.100:80 -r 10.77.0.22:80 -g -w 1", "-a -t 10.77.0.100:80 -r 10.77.0.21:80 -g -w 1", "-A -t 10.77.0.101:8080 -s wlc", "-a -t 10.77.0.101:8080 -r 10.77.1.23:8080 -m -w 1"];

test("compare: the table keepalived builds from the inventory matches (services and destinations in any order)", () => {
  const c = labCluster();
  const exp = expectedIpvs(c);
  assert.deepEqual(exp.map((s) => s.key), ["TCP 10.77.0.100:80", "TCP 10.77.0.101:8080"]);
  const sched = exp[0]!.scheduler;
  const lines = RIGHT.map((l) => l.replace("-s wlc", `-s ${sched}`));
  // The second service first, each service's destinations in the other order (the kernel lists them newest first).
  assert.deepEqual(compareIpvs(exp, parseIpvsadmSave(save([lines[3]!, lines[4]!, lines[0]!, lines[2]!, lines[1]!])).table), []);
});

test("compare: every kind of difference is named, one sentence each", () => {
  const c = labCluster();
  const sched = expectedIpvs(c)[0]!.scheduler;
  const other = sched === "rr" ? "wrr" : "rr";
  const actual = parseIpvsadmSave(
    save([
      `-A -t 10.77.0.100:80 -s ${other} -p 60`,
      "-a -t 10.77.0.100:80 -r 10.77.0.21:80 -m -w 0",
      "-a -t 10.77.0.100:80 -r 10.77.0.99:80 -g -w 1",
      "-A -u 10.77.0.100:53 -s rr",
    ]),
  ).table;
  assert.deepEqual(compareIpvs(expectedIpvs(c), actual), [
    `service TCP 10.77.0.100:80: scheduler ${other}, the inventory says ${sched}`,
    "service TCP 10.77.0.100:80: persistence 60, the inventory says off",
    "service TCP 10.77.0.100:80: real server 10.77.0.21:80 forwarded by NAT, the inventory says DR",
    "service TCP 10.77.0.100:80: real server 10.77.0.21:80 has weight 0, the inventory says 1 (inhibited after a failed check?)",
    "service TCP 10.77.0.100:80: real server 10.77.0.22:80 is missing (its check failing?)",
    "service TCP 10.77.0.100:80: real server 10.77.0.99:80 is not in the inventory",
    "service TCP 10.77.0.101:8080 is missing",
    "service UDP 10.77.0.100:53 is not in the inventory",
  ]);
});

test("expected: fwmark, persistence with a granularity, IPv6 addresses in ipvsadm's form, weights", () => {
  const c = clusterFrom(`
defaults: { user: root }
hosts:
  ds1: { address: 10.0.0.11 }
  rs1: { address: 10.0.0.21 }
groups: { directors: { hosts: [ds1] }, realservers: { hosts: [rs1] } }
vrrp_instances:
  - { name: VI_1, interface: eth0, virtual_router_id: 9, virtual_ipaddress: [10.0.0.100/24] }
  - { name: VI_6, interface: eth0, virtual_router_id: 10, version: 3, virtual_ipaddress: ["FD00::0100/64"] }
virtual_servers:
  - { fwmark: 7, lb_algo: sh, persistence_timeout: 300, persistence_granularity: 255.255.255.0, real_servers: [{ host: rs1, weight: 3 }] }
  - { vip: "FD00::0100", port: 443, lb_algo: wrr, real_servers: [{ address: "FD00::0021", weight: 2 }] }
`);
  const exp = expectedIpvs(c);
  assert.deepEqual(exp, [
    { key: "FWM 7", scheduler: "sh", persistence: 300, netmask: "255.255.255.0", dests: [{ key: "10.0.0.21:0", forward: "DR", weight: 3 }] },
    { key: "TCP [fd00::100]:443", scheduler: "wrr", dests: [{ key: "[fd00::21]:443", forward: "DR", weight: 2 }] },
  ]);
  assert.deepEqual(compareIpvs(exp, parseIpvsadmSave(save(["-A -f 7 -s sh -p 300 -M 255.255.255.0", "-a -f 7 -r 10.0.0.21:0 -g -w 3", "-A -t [fd00::100]:443 -s wrr", "-a -t [fd00::100]:443 -r [fd00::21]:443 -g -w 2"])).table), []);
});
