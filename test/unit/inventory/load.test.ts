// Reading inventories: YAML problems located, all problems at once, file reads injectable, and
// the example inventories load clean.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { formatDiagnostic, loadInventory, parseInventory } from "../../../src/inventory/index.js";
import { ENV, lines } from "./helpers.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

test("formatDiagnostic: file:line:col: severity CODE: message, then the hint", () => {
  assert.equal(
    formatDiagnostic({ severity: "error", code: "LVS300", message: "m", hint: "h", location: { file: "a.yml", line: 3, col: 7 } }),
    "a.yml:3:7: error LVS300: m\n  hint: h",
  );
  assert.equal(formatDiagnostic({ severity: "warning", code: "LVS109", message: "m" }), "warning LVS109: m");
});

test("YAML syntax errors are located and stop before the schema", () => {
  assert.deepEqual(lines("hosts:\n  ds1: { address: 10.0.0.1\n"), ["inv.yml:3:1: error LVS100: Flow map in block collection must be sufficiently indented and end with a }"]);
  assert.deepEqual(lines("hosts:\n\t- x\n"), ["inv.yml:2:1: error LVS100: Tabs are not allowed as indentation"]);
  assert.deepEqual(lines("hosts: {}\n---\nhosts: {}\n"), ["inv.yml:2:1: error LVS100: the file holds more than one YAML document (a second ---); an inventory is one document"]);
});

test("duplicate keys are located, and the other rules still run", () => {
  const yaml = "hosts:\n  a: { address: 10.0.0.1 }\n  a: { address: 10.0.0.2 }\ngroups: { directors: { hosts: [a, zz] } }\n";
  assert.deepEqual(lines(yaml), [
    'inv.yml:3:3: error LVS101: duplicate key "a": a key may appear only once in a mapping',
    'inv.yml:4:35: error LVS201: group directors lists host "zz", which is not defined under hosts:',
  ]);
});

test("empty files and files that are not a mapping", () => {
  assert.deepEqual(lines(""), ["error LVS109: the inventory is empty"]);
  assert.deepEqual(lines("# nothing yet\n"), ["error LVS109: the inventory is empty"]);
  assert.deepEqual(lines("- a\n- b\n"), ["inv.yml:1:1: error LVS109: the inventory must be a mapping of keys (hosts:, groups:, ...), not a list"]);
});

test("an empty value points at its key", () => {
  assert.deepEqual(lines("hosts:\n  a:\n"), ["inv.yml:2:3: error LVS102: hosts.a: expected a mapping (key: value), got null (an empty value)"]);
});

test("all problems at once, sorted by position", () => {
  const yaml = `hosts:
  ds1: { address: 10.77.0.11, prot: 22 }
  ds2: { address: 10.77.0.12 }
groups:
  directors: { hosts: [ds1, ds2, ds3] }
vrrp_instances:
  - { name: VI_1, interface: eth0, virtual_router_id: 300, virtual_ipaddress: [10.77.0.100] }
virtual_servers:
  - { vip: 10.77.0.100, port: 80, lb_algo: wrrr, real_servers: [{ host: ds1, port: 8080 }] }
`;
  const r = parseInventory(yaml, "inv.yml", { env: ENV });
  assert.equal(r.ok, false);
  assert.deepEqual(
    r.diagnostics.map((d) => `${d.location?.line}:${d.location?.col} ${d.code}`),
    ["2:31 LVS103", "5:34 LVS201", "7:55 LVS104", "9:44 LVS409", "9:73 LVS406", "9:84 LVS402"],
  );
});

test("loadInventory reads through the injected readFile and reports unreadable files", async () => {
  const files: Record<string, string> = { "/x/inv.yml": "hosts: {}\n" };
  const readFile = async (p: string) => {
    const t = files[p];
    if (t === undefined) throw Object.assign(new Error("nope"), { code: "ENOENT" });
    return t;
  };
  const ok = await loadInventory("/x/inv.yml", { readFile, env: ENV });
  assert.equal(ok.ok, true);
  const missing = await loadInventory("/x/missing.yml", { readFile, env: ENV });
  assert.deepEqual(missing.diagnostics.map(formatDiagnostic), ["error LVS110: cannot read inventory /x/missing.yml: no such file\n  hint: check the path and that the file is readable"]);
});

test("every example inventory loads without errors or warnings", async () => {
  const examples = readdirSync(`${root}inventory`).filter((f) => f.endsWith(".yml"));
  assert.ok(examples.length >= 4, `examples: ${examples.join(", ")}`);
  for (const f of examples) {
    const r = await loadInventory(`${root}inventory/${f}`, { env: { LVS_VRRP_PASS: "pw", SSH_AUTH_SOCK: "/run/agent" } });
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), [], f);
    assert.equal(r.ok, true, f);
    if (r.ok) assert.equal(r.cluster.directors.length, 2, f);
  }
});

test("the DR example stays small: about twenty lines of settings", async () => {
  const { readFileSync } = await import("node:fs");
  const text = readFileSync(`${root}inventory/dr.yml`, "utf8");
  const settings = text.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"));
  assert.ok(settings.length <= 22, `${settings.length} lines`);
});

test("schema errors carry hints: quoted numbers, bad addresses, typos in choices", () => {
  const r = parseInventory(
    'hosts:\n  a: { address: 10.0.0.1, port: "22" }\nvirtual_servers:\n  - { vip: 10.0.0.300, port: 80, real_servers: [{ address: 10.0.0.2, check: { type: TCP } }] }\n',
    "inv.yml",
    { env: {} },
  );
  assert.deepEqual(
    r.diagnostics.filter((d) => d.code < "LVS200").map(formatDiagnostic),
    [
      'inv.yml:2:33: error LVS102: hosts.a.port: expected a number, got the string "22"\n  hint: remove the quotes: a number is written bare',
      'inv.yml:4:12: error LVS106: virtual_servers[0].vip: must be an IPv4 or IPv6 address (got the string "10.0.0.300")\n  hint: write an address such as 10.0.0.1 or fd00::1, without a prefix length',
      'inv.yml:4:85: error LVS105: virtual_servers[0].real_servers[0].check.type: the string "TCP" is not allowed here\n  hint: did you mean "TCP_CHECK"? use one of TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK',
    ],
  );
});

test("the inventory README lists every diagnostic code", async () => {
  const { readFileSync } = await import("node:fs");
  const { CODES } = await import("../../../src/inventory/index.js");
  const readme = readFileSync(`${root}src/inventory/README.md`, "utf8");
  const missing = Object.entries(CODES).filter(([code, what]) => !readme.includes(`| ${code} | ${what} |`));
  assert.deepEqual(missing, []);
});
