// text.ts: the rules for what a value may hold in each file lvsctl writes, and the list of string
// fields it derives from the schema. Located diagnostics for each code are in rule-cases.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Inventory } from "../../../src/inventory/schema.js";
import { KEEPALIVED_VALUE_MAX, textFields, textProblem, walkText, type TextKind } from "../../../src/inventory/text.js";
import { canonicalIp, vipProblem } from "../../../src/inventory/topology.js";

test("every string field of the schema declares its kind (text(kind, ...) in schema.ts)", () => {
  const unkinded: string[] = [];
  textFields(Inventory, unkinded);
  assert.deepEqual(unkinded, [], "give these fields a kind from text.ts");
});

test("the field list comes from the schema: keys of mappings, list items and union branches", () => {
  const seen: string[] = [];
  walkText(
    Inventory.parse({
      hosts: { a: { address: "h", vars: { v: 1 } } },
      director: { sysctls: { "net.ipv4.ip_forward": "1" } },
      vrrp_instances: [{ name: "V", interface: "eth0", virtual_router_id: 1, virtual_ipaddress: ["10.0.0.1", { address: "10.0.0.2", dev: "eth1" }], authentication: { auth_type: "PASS", auth_pass: { env: "P" } } }],
    }),
    textFields(Inventory),
    (path, kind, _v, key) => seen.push(`${path.join(".")}${key ? " (key)" : ""}: ${kind}`),
  );
  for (const want of [
    "hosts.a.address: word",
    "hosts.a.vars.v (key): line",
    "director.sysctls.net.ipv4.ip_forward (key): sysctlKey",
    "director.sysctls.net.ipv4.ip_forward: sysctlValue",
    "director.keepalived.prefix: path",
    "director.lvsd.install_dir: path",
    "vrrp_instances.0.virtual_ipaddress.0: vip",
    "vrrp_instances.0.virtual_ipaddress.1.dev: interface",
    "vrrp_instances.0.authentication.auth_pass.env: word",
  ]) {
    assert.ok(seen.includes(want), `${want} in\n${seen.join("\n")}`);
  }
  assert.ok(!seen.some((s) => s.startsWith("hosts.a (key)")), "host names are LVS215's");
});

const ok = (kind: TextKind, v: string) => assert.equal(textProblem(kind, v), undefined, `${kind} ${JSON.stringify(v)}`);
const bad = (kind: TextKind, v: string, code: string) => assert.equal(textProblem(kind, v)?.code, code, `${kind} ${JSON.stringify(v)}`);

test("control characters are refused in every kind, secrets without echo", () => {
  for (const kind of ["line", "secret", "authPass", "word", "kaText", "kaBare", "kaComment", "script", "interface", "ipLabel", "vip", "path", "sysctlKey", "sysctlValue"] as const) {
    for (const c of ["\n", "\r", "\0", "\t", "\u001b", "\u0085", "\u2028", "\u202e"]) bad(kind, `a${c}b`, "LVS120");
  }
  assert.doesNotMatch(textProblem("secret", "hunter\n2")!.message, /hunter|character \d/);
  assert.doesNotMatch(textProblem("authPass", 'pq"zx')!.message, /pq|zx/);
});

test("keepalived.conf: quotes, comments, braces, $_ expansion, line length", () => {
  ok("kaText", "lb 1 # not a comment when quoted");
  bad("kaText", 'a"b', "LVS121");
  bad("kaText", "a\\", "LVS121");
  bad("kaText", "x$_PWD", "LVS121");
  bad("kaText", "x${_HASH}", "LVS121");
  ok("kaText", "$HOME");
  for (const c of ["#", "!", "{", "}", "'", "\\"]) bad("kaBare", `mail${c}x`, "LVS121");
  bad("kaBare", "@id x", "LVS121");
  ok("kaBare", "192.0.2.25 25");
  ok("kaComment", "web # { } ! anything");
  ok("kaComment", "n".repeat(KEEPALIVED_VALUE_MAX));
  bad("kaComment", "n".repeat(1021) + " include /tmp/x.conf", "LVS122");
  bad("kaComment", "é".repeat(KEEPALIVED_VALUE_MAX / 2 + 1), "LVS122");
});

test("interface names: the kernel's rules, then what lvsctl writes bare", () => {
  for (const v of ["eth0", "ens3", "bond0.100", "br-lan", "veth_1", "e".repeat(15)]) ok("interface", v);
  for (const v of ["", "e".repeat(16), ".", "..", "eth/0", "eth0:1", "eth 0", "eth0#x", "eth0!", "eth{0", "-eth0", "eth*", "ethé"]) bad("interface", v, "LVS123");
  ok("vip", "10.0.0.1/24 dev eth1 label eth1:vip");
  bad("vip", "10.0.0.1/24 dev eth1#x", "LVS123");
  bad("vip", "10.0.0.1/24 # x", "LVS121");
});

test("paths: absolute, normalised, plain characters; a script's program is such a path", () => {
  for (const v of ["/", "/usr/local", "/opt/lvsd/", "/opt/keepalived-2.2.8"]) ok("path", v);
  for (const v of ["usr/local", "/../../../../tmp/x", "/usr/./local", "/usr//local", "/usr;touch /tmp/x", "/opt/a b", "/opt/%h", "/opt/$x", "/opt/`x`", "/" + "a".repeat(300)]) bad("path", v, "LVS124");
  ok("script", "/usr/local/bin/notify 'two words' $1");
  bad("script", "notify.sh MASTER", "LVS124");
  bad("script", "/bin/../tmp/x", "LVS124");
  bad("script", "   ", "LVS124");
});

test("sysctl keys by pattern, values as sysctl.d keeps them", () => {
  for (const v of ["net.ipv4.ip_forward", "net.ipv4.vs.conntrack", "net.ipv4.conf.eth0/100.rp_filter", "net.ipv4.conf.br-lan.arp_ignore"]) ok("sysctlKey", v);
  for (const v of ["-net.ipv4.ip_forward", "net.ipv4.*.rp_filter", "net..ipv4", "net.ipv4//../../etc/shadow", "net.ipv4 = 1", "net.ipv4.conf.../x", "=net.ipv4.ip_forward", "net.ipv4.ip_forward=1"]) bad("sysctlKey", v, "LVS125");
  ok("sysctlValue", "4096 87380 6291456");
  for (const v of ["", " 1", "1 ", "# 1"]) bad("sysctlValue", v, "LVS125");
});

test("words: no blanks, no leading '-'", () => {
  ok("word", "deploy");
  bad("word", "-oProxyCommand=x", "LVS126");
  bad("word", "a b", "LVS126");
});

test("canonical VIPs: IPv4-mapped IPv6 is its IPv4 address; unusable VIPs say why", () => {
  assert.equal(canonicalIp("::ffff:10.0.0.1"), "10.0.0.1");
  assert.equal(canonicalIp("::FFFF:a00:1"), "10.0.0.1");
  assert.equal(canonicalIp("2001:DB8:0::1"), "2001:db8::1");
  for (const a of ["0.0.0.0", "224.0.0.18", "239.1.1.1", "255.255.255.255", "127.0.0.1", "169.254.1.1", "::", "::1", "fe80::1", "fe80::1%eth0", "ff02::12", "::ffff:10.0.0.1"]) {
    assert.ok(vipProblem(a), a);
  }
  assert.ok(vipProblem("10.0.0.1", 0));
  for (const a of ["10.0.0.1", "192.0.2.100", "2001:db8::100", "fd00::1", "100.64.0.1"]) assert.equal(vipProblem(a, 24), undefined, a);
});
