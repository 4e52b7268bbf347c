// Real servers by group (issue 12 item 2): `{ group: NAME }` is every host of the group, each
// overridden by its `real_server` var; problems point at what the user wrote.
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { BASE, VI, lines as allLines, parse } from "./helpers.js";

/** Errors only: a group that gives nothing also leaves the realservers hosts unused (LVS421 warnings). */
const lines = (yaml: string) => allLines(yaml).filter((l) => / error /.test(l));

const SERVICE = (entry: string) => `${VI}virtual_servers:
  - vip: 10.77.0.100
    port: 80
    check: { type: TCP_CHECK }
    real_servers: [${entry}]
`;

test("{ group } expands to every host of the group, in its order, each with its real_server var", () => {
  const yaml = BASE.replace("  rs2: { address: 10.77.0.22 }", "  rs2: { address: 10.77.0.22, vars: { real_server: { weight: 3, inhibit_on_failure: true } } }") + SERVICE("{ group: realservers, weight: 2 }");
  const r = parse(yaml);
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  const rs = r.cluster.services[0]!.realServers;
  assert.deepEqual(rs.map((x) => [x.host, x.address, x.port, x.weight, x.inhibitOnFailure, x.check?.type]), [
    ["rs1", "10.77.0.21", 80, 2, false, "TCP_CHECK"],
    ["rs2", "10.77.0.22", 80, 3, true, "TCP_CHECK"],
  ]);
});

test("a group's real_server var applies to its hosts, a host's own var wins", () => {
  const yaml = BASE.replace("  realservers: { hosts: [rs1, rs2] }", "  realservers: { hosts: [rs1, rs2], vars: { real_server: { weight: 5 } } }").replace("  rs1: { address: 10.77.0.21 }", "  rs1: { address: 10.77.0.21, vars: { real_server: { weight: 7 } } }") + SERVICE("{ group: realservers }");
  const r = parse(yaml);
  assert.ok(r.ok, JSON.stringify(r.diagnostics));
  assert.deepEqual(r.cluster.services[0]!.realServers.map((x) => [x.host, x.weight]), [["rs1", 7], ["rs2", 5]]);
});

test("an unknown group, an empty one, a group beside a host, a bad var: each an error where it was written", () => {
  assert.deepEqual(lines(BASE + SERVICE("{ group: realserver }")), [
    'inv.yml:18:29: error LVS429: real server group "realserver" is not a group of this inventory',
  ]);
  assert.deepEqual(lines(BASE.replace("groups:\n", "groups:\n  empty: { hosts: [] }\n") + SERVICE("{ group: empty }").replace(/^/, "")), [
    'inv.yml:19:29: error LVS430: real server group "empty" has no hosts, so it gives this service no real server',
  ]);
  assert.deepEqual(lines(BASE + SERVICE("{ group: realservers, host: rs1 }")), ["inv.yml:18:29: error LVS432: real_servers[0] names both a group and a host"]);
  const bad = BASE.replace("  rs2: { address: 10.77.0.22 }", "  rs2: { address: 10.77.0.22, vars: { real_server: { weight: heavy } } }") + SERVICE("{ group: realservers }");
  assert.equal(lines(bad).length, 1);
  assert.match(lines(bad)[0]!, /^inv\.yml:5:62: error LVS431: host var real_server of rs2 \(a real server of group realservers\): weight: /);
});

test("a rule broken by an expanded real server points at the group entry", () => {
  // DR cannot remap ports: rs1's var asks for 8080 on a port 80 service.
  const yaml = BASE.replace("  rs1: { address: 10.77.0.21 }", "  rs1: { address: 10.77.0.21, vars: { real_server: { port: 8080 } } }") + SERVICE("{ group: realservers }");
  assert.deepEqual(lines(yaml).map((l) => l.split(": real server port")[0]), ["inv.yml:18:29: error LVS402"]);
});
