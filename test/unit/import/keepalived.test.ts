// The keepalived.conf reader and the mapper to an inventory, on strings (no file system).
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { formatWarning, importInventory, nameFromFile, readConf, splitLine } from "../../../src/import/index.js";

test("words: comments after # and ! outside quotes, braces on their own, quoted strings one word", () => {
  const w = (s: string) => splitLine(s, "f", 1).words.map((x) => (x.quoted ? `"${x.text}"` : x.text));
  assert.deepEqual(w('notify_master "/bin/x a # b" ! tail'), ["notify_master", '"/bin/x a # b"']);
  assert.deepEqual(w("real_server 10.0.0.1 80{ # c"), ["real_server", "10.0.0.1", "80", "{"]);
  assert.deepEqual(w("  }}"), ["}", "}"]);
  assert.deepEqual(w("# all comment"), []);
  assert.deepEqual(w("inhibit_on_failure        ! set weight to 0"), ["inhibit_on_failure"]);
});

test("blocks nest, every statement keeps its file and line, a block may open on the next line", () => {
  const t = readConf("global_defs {\n  router_id a\n}\nvrrp_instance VI_1\n{\n  virtual_ipaddress {\n    10.0.0.1/24\n  }\n}\n", "a.conf");
  assert.deepEqual(t.problems, []);
  const [g, vi] = t.directives;
  assert.equal(g!.name, "global_defs");
  assert.equal(g!.block![0]!.line, 2);
  assert.equal(vi!.name, "vrrp_instance");
  assert.equal(vi!.block![0]!.block![0]!.name, "10.0.0.1/24");
  assert.equal(vi!.block![0]!.block![0]!.line, 7);
});

test("include follows a glob relative to the including file, in order, with the included file's lines", () => {
  const seen: string[] = [];
  const t = readConf("include conf.d/*.conf\nvirtual_server 10.0.0.1 80 {\n}\n", "/etc/keepalived/keepalived.conf", {
    readInclude(glob) {
      seen.push(glob);
      return [
        { file: "/etc/keepalived/conf.d/a.conf", text: "\nvrrp_instance A {\n}\n" },
        { file: "/etc/keepalived/conf.d/b.conf", text: "vrrp_instance B {\n}\n" },
      ];
    },
  });
  assert.deepEqual(seen, ["/etc/keepalived/conf.d/*.conf"]);
  assert.deepEqual(t.directives.map((d) => `${d.name} ${d.args[0]?.text} ${d.file}:${d.line}`), [
    "vrrp_instance A /etc/keepalived/conf.d/a.conf:2",
    "vrrp_instance B /etc/keepalived/conf.d/b.conf:1",
    "virtual_server 10.0.0.1 /etc/keepalived/keepalived.conf:2",
  ]);
  assert.deepEqual(t.files, ["/etc/keepalived/keepalived.conf", "/etc/keepalived/conf.d/a.conf", "/etc/keepalived/conf.d/b.conf"]);
});

test("an include that includes itself is reported, not followed forever", () => {
  const t = readConf("include self.conf\n", "/k/self.conf", { readInclude: () => [{ file: "/k/self.conf", text: "include self.conf\n" }] });
  assert.equal(t.problems.length, 1);
  assert.match(t.problems[0]!.why, /includes itself/);
});

test("braces that do not pair up refuse the import, located", () => {
  const r = importInventory([{ file: "k.conf", text: "vrrp_instance VI_1 {\n  interface eth0\n" }]);
  assert.equal(r.status, "refused");
  assert.deepEqual(r.why, ["k.conf:1: vrrp_instance: its block is never closed (a `}` is missing)"]);
  assert.equal(r.yaml, "");
});

const DIRECTOR = (name: string, prio: number, state: string, src: string, peer: string) => `
global_defs {
  router_id ${name}
}
vrrp_instance VI_1 {
  state ${state}
  interface eth0
  virtual_router_id 51
  priority ${prio}
  authentication {
    auth_type PASS
    auth_pass secret12345
  }
  unicast_src_ip ${src}
  unicast_peer {
    ${peer}
  }
  virtual_ipaddress {
    192.0.2.100/24 dev eth0
    192.0.2.101 dev eth1 label eth1:vip
  }
  use_vmac
}
virtual_server 192.0.2.100 80 {
  lb_algo rr
  lb_kind DR
  real_server 192.0.2.21 80 {
    weight 3
    TCP_CHECK {
      connect_timeout 2
      nb_get_retry 2
    }
  }
  real_server 192.0.2.22 80 {
    SMTP_CHECK {
      helo_name x
    }
  }
}
`;

test("two directors merge into one cluster: priorities, states and unicast per director, the rest once", () => {
  const r = importInventory([
    { file: "a.conf", text: DIRECTOR("lb-a", 200, "MASTER", "192.0.2.11", "192.0.2.12") },
    { file: "b.conf", text: DIRECTOR("lb-b", 120, "BACKUP", "192.0.2.12", "192.0.2.11") },
  ]);
  assert.equal(r.status, "partial", r.why.join("\n"));
  assert.deepEqual(r.directors, [
    { name: "lb-a", file: "a.conf", namedBy: "router_id" },
    { name: "lb-b", file: "b.conf", namedBy: "router_id" },
  ]);
  const inv = r.inventory as any;
  assert.deepEqual(inv.hosts["lb-a"], { address: "192.0.2.11" });
  assert.deepEqual(inv.groups.directors.hosts, ["lb-a", "lb-b"]);
  const vi = inv.vrrp_instances[0];
  assert.equal(vi.unicast, true);
  assert.deepEqual(vi.members, { "lb-a": { priority: 200 }, "lb-b": { priority: 120 } });
  assert.deepEqual(vi.virtual_ipaddress, ["192.0.2.100/24", "192.0.2.101 dev eth1 label eth1:vip"]);
  // The password is not written: the inventory names a variable, the caller learns its value.
  assert.deepEqual(vi.authentication, { auth_type: "PASS", auth_pass: { env: "LVS_VRRP_PASS" } });
  assert.deepEqual(r.secrets, { LVS_VRRP_PASS: "secret12" });
  assert.ok(!r.yaml.includes("secret1"), "no password in the YAML");
  const vs = inv.virtual_servers[0];
  assert.equal(vs.lb_kind, undefined, "DR is lvsctl's default");
  assert.deepEqual(vs.real_servers, [{ host: "192.0.2.21", weight: 3, check: { type: "TCP_CHECK", connect_timeout: 2, retry: 2 } }, { host: "192.0.2.22" }]);
  // Each director's file reports its own lines.
  const shown = r.warnings.map(formatWarning);
  for (const f of ["a.conf", "b.conf"]) {
    assert.ok(shown.includes(`${f}:22: use_vmac: not supported yet in vrrp_instance; skipped`), shown.join("\n"));
    assert.ok(shown.some((w) => w.startsWith(`${f}:10: authentication auth_pass: is longer than 8 bytes`)), shown.join("\n"));
    assert.ok(shown.includes(`${f}:31: nb_get_retry 2: obsolete name of retry (keepalived warns); carried over as retry`), shown.join("\n"));
    assert.ok(shown.some((w) => w.startsWith(`${f}:35: SMTP_CHECK: not supported yet; skipped`)), shown.join("\n"));
  }
  // The YAML carries the warnings in its header.
  assert.match(r.yaml, /^# {3}a\.conf:22: use_vmac: not supported yet/m);
});

test("without distinct router_ids the directors are named by their files, and the YAML says so", () => {
  const one = DIRECTOR("LVS_DEVEL", 150, "MASTER", "192.0.2.11", "192.0.2.12");
  const two = DIRECTOR("LVS_DEVEL", 100, "BACKUP", "192.0.2.12", "192.0.2.11");
  const r = importInventory([
    { file: "/etc/keepalived.conf.east", text: one },
    { file: "west.conf", text: two },
  ]);
  assert.deepEqual(r.directors.map((d) => [d.name, d.namedBy]), [["east", "file name"], ["west", "file name"]]);
  assert.equal((r.inventory as any).global_defs.router_id, "LVS_DEVEL");
  assert.match(r.yaml, /east: \/etc\/keepalived\.conf\.east \(named by its file name\)/);
  // 150 then 100 are lvsctl's default priorities by position: nothing to write.
  assert.equal((r.inventory as any).vrrp_instances[0].members, undefined);
  assert.equal(nameFromFile("keepalived.conf"), undefined);
});

test("keepalived's defaults are written where lvsctl's differ: lb_kind NAT, state BACKUP", () => {
  const r = importInventory([
    {
      file: "k.conf",
      text: "vrrp_instance V {\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {\n  10.0.0.9/24\n }\n}\nvirtual_server 10.0.0.9 80 {\n real_server 10.0.0.21 8080 {\n }\n}\n",
    },
  ]);
  assert.equal(r.status, "full", r.why.join("\n"));
  const inv = r.inventory as any;
  assert.equal(inv.virtual_servers[0].lb_kind, "NAT");
  assert.equal(inv.vrrp_instances[0].state, "BACKUP");
  assert.equal(inv.vrrp_instances[0].priority, 100);
  assert.match(r.yaml, /lb_kind: NAT # not in keepalived\.conf: keepalived's default NAT/);
  assert.match(r.yaml, /state: BACKUP # keepalived\.conf gives no state: keepalived starts BACKUP/);
  assert.match(r.yaml, /address: k # keepalived\.conf does not say/);
});

test("unsupported blocks and unknown directives are reported once each, with the block's size", () => {
  const r = importInventory([{ file: "k.conf", text: "vrrp_script chk {\n script /bin/true\n interval 2\n}\nstatic_routes {\n 10.0.0.0/8 dev eth0\n}\n@high priority 1\n" }]);
  assert.deepEqual(r.warnings.map(formatWarning), [
    "k.conf:1: vrrp_script chk: not supported yet in keepalived.conf; skipped (with its block of 2 lines)",
    "k.conf:5: static_routes: not supported yet in keepalived.conf; skipped (with its block of 1 lines)",
    "k.conf:8: @high priority 1: conditional line (@ID, keepalived -i): not supported yet, skipped",
  ]);
});

test("per-director peer lists that are not one list are reported, and the first is kept", () => {
  const a = DIRECTOR("a", 150, "MASTER", "192.0.2.11", "192.0.2.12").replace("    192.0.2.12\n", "    192.0.2.12\n    192.0.2.13\n");
  const b = DIRECTOR("b", 100, "BACKUP", "192.0.2.12", "192.0.2.99");
  const r = importInventory([{ file: "a.conf", text: a }, { file: "b.conf", text: b }]);
  assert.ok(r.warnings.some((w) => w.kind === "conflict" && /peer lists/.test(w.why)), r.warnings.map(formatWarning).join("\n"));
});
