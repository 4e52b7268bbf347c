// Each validation rule fed a broken inventory: the exact located message (file:line:col), and a
// hint that says how to fix it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CODES, formatDiagnostic, parseInventory } from "../../../src/inventory/index.js";
import { BASE, VI, lines as allLines, parse } from "./helpers.js";

/** The cases below use only some real servers; LVS421 ("in no service") has its own case. */
const lines = (yaml: string, env?: NodeJS.ProcessEnv) => allLines(yaml, env).filter((l) => !l.includes(" LVS421: "));
import { cases } from "./rule-cases.js";

for (const c of cases) {
  test(`rule ${c.name}`, () => {
    // Most cases use only rs1; "rs2 is in no service" (LVS421) is checked in its own case.
    const got = allLines(c.yaml, c.env).filter((l) => c.name.startsWith("LVS421") || !l.includes(" LVS421: "));
    assert.deepEqual(got, c.expect);
    for (const d of parse(c.yaml, c.env).diagnostics) {
      assert.ok(d.code in CODES, `${d.code} is in the catalogue`);
      if (d.code >= "LVS200") assert.ok(d.hint && d.hint.length > 5, `${d.code} has a hint`);
    }
  });
}

test("the base inventory and instance are clean, so each case breaks exactly one thing", () => {
  assert.deepEqual(lines(BASE + VI), []);
  assert.equal(parse(BASE + VI).ok, true);
});

test("every rule in the catalogue that validate.ts can emit has a case", () => {
  const covered = new Set(cases.flatMap((c) => c.expect.map((l) => /(LVS\d{3})/.exec(l)?.[1])));
  // Codes exercised in other test files (load/ansible/resolve/secrets/rs-groups/keywords tests) or not reachable from BASE.
  const elsewhere = new Set(["LVS100", "LVS101", "LVS108", "LVS109", "LVS110", "LVS211", "LVS212", "LVS213", "LVS214", "LVS216", "LVS217", "LVS310", "LVS311", "LVS314", "LVS315", "LVS316", "LVS318", "LVS412", "LVS415", "LVS418", "LVS429", "LVS430", "LVS431", "LVS432", "LVS326", "LVS327", "LVS328", "LVS329", "LVS330", "LVS331", "LVS433", "LVS602", "LVS603", "LVS500", "LVS501", "LVS502"]);
  const missing = Object.keys(CODES).filter((c) => !covered.has(c) && !elsewhere.has(c));
  assert.deepEqual(missing, []);
});

test("an unknown key suggests the right one", () => {
  const d = parse(BASE + VI.replace("interface: eth0", "interface: eth0\n    advert_intt: 1")).diagnostics[0]!;
  assert.equal(d.hint, 'did you mean "advert_int"?');
});

test("an unknown scheduler lists the valid ones", () => {
  const d = parse(BASE + VI + "virtual_servers:\n  - { vip: 10.77.0.100, port: 80, lb_algo: roundrobin, real_servers: [{ host: rs1 }] }\n").diagnostics.find((x) => x.code === "LVS409")!;
  assert.equal(d.hint, "valid schedulers: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh");
});

test("a clear password is a warning only: the inventory still loads, suggesting env, file or prompt", () => {
  const r = parse(BASE.replace("ds1: { address: 10.77.0.11 }", "ds1: { address: 10.77.0.11, password: hunter2 }") + VI);
  assert.equal(r.ok, true);
  assert.equal(r.diagnostics.length, 1);
  assert.match(formatDiagnostic(r.diagnostics[0]!), /^inv\.yml:2:41: warning LVS206: .*\n  hint: use \{env: NAME\} .*, \{file: PATH\} .* or \{prompt: TEXT\}/);
});

test("more rules: duplicate instance names, two sync groups, unicast conflicts, mixed families", () => {
  const yaml =
    BASE +
    VI +
    "  - { name: VI_1, interface: eth1, virtual_router_id: 52, virtual_ipaddress: [10.77.0.101], unicast: true, unicast_peer: [10.77.0.12] }\n" +
    "  - { name: VI_3, interface: eth1, virtual_router_id: 53, version: 3, virtual_ipaddress: [10.77.0.102, 'fd00::1'], unicast_src_ip: 10.77.0.11 }\n" +
    "vrrp_sync_groups:\n  - { name: G1, group: [VI_1] }\n  - { name: G2, group: [VI_1] }\n";
  assert.deepEqual(lines(yaml), [
    "inv.yml:14:13: error LVS310: two VRRP instances are named VI_1 (also vrrp_instances[0])",
    "inv.yml:14:108: error LVS314: instance VI_1 has both unicast: true (peers computed from the directors) and an explicit unicast_peer list",
    "inv.yml:15:90: error LVS318: instance VI_3 mixes IPv4 and IPv6 VIPs; one VRRP instance speaks one address family (RFC 5798 section 1)",
    "inv.yml:15:116: error LVS314: instance VI_3 gives one unicast_src_ip for 2 directors; each director must send from its own address",
    "inv.yml:18:25: error LVS311: instance VI_1 is in two sync groups (G1 and G2); keepalived allows one",
  ]);
});

test("unicast: true needs IP addresses; a real server host needs one too", () => {
  const yaml =
    BASE.replace("ds2: { address: 10.77.0.12 }", "ds2: { address: ds2.example.net }").replace("rs2: { address: 10.77.0.22 }", "rs2: { address: rs2.example.net }") +
    VI +
    "    unicast: true\nvirtual_servers:\n  - { vip: 10.77.0.100, port: 80, real_servers: [{ host: rs2 }] }\n";
  assert.deepEqual(lines(yaml), [
    "inv.yml:3:10: error LVS315: unicast: true in instance VI_1 needs an IP address for ds2, but its address is ds2.example.net",
    "inv.yml:16:58: error LVS418: real server rs2 has address rs2.example.net, which is not an IP address; IPVS needs one",
  ]);
});

test("several directors starting as MASTER, thresholds, retry twice", () => {
  const yaml =
    BASE +
    VI +
    "    members: { ds1: { state: MASTER, priority: 200 }, ds2: { state: MASTER } }\n" +
    "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    check: { type: TCP_CHECK, retry: 2, nb_get_retry: 3 }\n" +
    "    real_servers: [{ host: rs1, uthreshold: 5, lthreshold: 10 }]\n";
  assert.deepEqual(lines(yaml), [
    "inv.yml:14:14: warning LVS316: more than one director of instance VI_1 starts as MASTER; they will fight until the adverts settle it",
    "inv.yml:18:41: warning LVS415: retry and nb_get_retry are the same setting (nb_get_retry is the old name); retry wins",
    "inv.yml:19:45: error LVS412: uthreshold 5 is below lthreshold 10; the real server would be switched off and on at once",
  ]);
});

test("become off on a host while defaults carry a become password", () => {
  const yaml = "defaults: { become: { password: { env: LVS_PASS } } }\n" + BASE.replace("rs1: { address: 10.77.0.21 }", "rs1: { address: 10.77.0.21, become: false }");
  assert.deepEqual(lines(yaml), ["inv.yml:5:39: warning LVS211: host rs1 turns become off, but defaults give a become password"]);
});

test("references to a host the schema rejected are not reported twice", () => {
  // rs2 lacks an address (schema error), but the group listing it must not add "unknown host".
  const yaml = BASE.replace("rs2: { address: 10.77.0.22 }", "rs2: { adress: 10.77.0.22 }");
  assert.deepEqual(lines(yaml), [
    'inv.yml:5:3: error LVS107: hosts.rs2: missing required key "address"',
    'inv.yml:5:10: error LVS103: unknown key "adress" in hosts.rs2',
  ]);
});

test("a secret file that does not exist is a warning, when the file system is asked", () => {
  const yaml = BASE.replace("ds1: { address: 10.77.0.11 }", "ds1: { address: 10.77.0.11, password: { file: secrets/ds1 } }");
  const r = parseInventory(yaml, "/inv/inv.yml", { env: {}, fileExists: (p) => p === "/inv/secrets/other" });
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    "/inv/inv.yml:2:41: warning LVS214: the SSH password at hosts.ds1 comes from file secrets/ds1, which does not exist (/inv/secrets/ds1)\n  hint: create it (mode 0600) before deploying; relative paths start at the inventory's folder",
  ]);
  assert.deepEqual(parseInventory(yaml, "/inv/inv.yml", { env: {}, fileExists: (p) => p === "/inv/secrets/ds1" }).diagnostics, []);
  assert.deepEqual(parseInventory(yaml, "/inv/inv.yml", { env: {} }).diagnostics, [], "pure parse does not look at files");
});

test("JavaScript's reserved keys are not host or group names", () => {
  const yaml = "hosts:\n  __proto__: { address: 10.0.0.1 }\n  constructor: { address: 10.0.0.2 }\ngroups:\n  directors: { hosts: [__proto__, constructor] }\n  prototype: { hosts: [] }\n";
  assert.deepEqual(allLines(yaml), [
    'inv.yml:2:3: error LVS215: host name "__proto__" cannot be used: names become file names',
    'inv.yml:3:3: error LVS215: host name "constructor" cannot be used: names become file names',
    'inv.yml:6:3: error LVS215: group name "prototype" cannot be used',
  ]);
});

test("the hint for an unknown real server never suggests a director", () => {
  // ds3 is one letter from ds1 and ds2, but a director cannot be a real server (LVS406).
  const r = parse(BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    real_servers: [{ host: ds3 }, { host: rs3 }]\n");
  const hints = r.diagnostics.filter((d) => d.code === "LVS405").map((d) => d.hint);
  assert.equal(hints.length, 2);
  for (const h of hints) assert.doesNotMatch(h ?? "", /ds[12]/);
});
