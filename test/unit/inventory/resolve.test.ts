// resolve(): what an inventory means once defaults, groups and per-director settings apply.
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatDiagnostic, parseInventory, parseVip, type Cluster } from "../../../src/inventory/index.js";
import { BASE, VI } from "./helpers.js";

function cluster(yaml: string, env: NodeJS.ProcessEnv = { SSH_AUTH_SOCK: "/run/agent.sock" }): Cluster {
  const r = parseInventory(yaml, "inv.yml", { env });
  assert.ok(r.ok, r.diagnostics.map(formatDiagnostic).join("\n"));
  return r.cluster;
}
const inst = (c: Cluster, host: string, i = 0) => c.directors.find((d) => d.host.name === host)!.instances[i]!;

test("default priorities follow group order: 150, 100, 99; the highest starts MASTER", () => {
  const c = cluster(BASE.replace("rs1: { address: 10.77.0.21 }", "rs1: { address: 10.77.0.21 }\n  ds3: { address: 10.77.0.13 }").replace("[ds1, ds2]", "[ds2, ds1, ds3]") + VI);
  assert.deepEqual(
    c.directors.map((d) => [d.host.name, d.instances[0]!.priority, d.instances[0]!.state]),
    [["ds2", 150, "MASTER"], ["ds1", 100, "BACKUP"], ["ds3", 99, "BACKUP"]],
  );
});

test("member priority wins over instance priority; given state is kept; nopreempt starts all BACKUP", () => {
  const c = cluster(BASE + VI + "    priority: 90\n    members: { ds2: { priority: 120 }, ds1: {} }\n");
  assert.deepEqual([inst(c, "ds1").priority, inst(c, "ds1").state], [90, "BACKUP"]);
  assert.deepEqual([inst(c, "ds2").priority, inst(c, "ds2").state], [120, "MASTER"]);
  const n = cluster(BASE + VI + "    nopreempt: true\n");
  assert.deepEqual([inst(n, "ds1").state, inst(n, "ds2").state], ["BACKUP", "BACKUP"]);
  assert.equal(inst(n, "ds1").nopreempt, true);
  const s = cluster(BASE + VI + "    members: { ds1: { state: BACKUP }, ds2: { state: MASTER } }\n");
  assert.deepEqual([inst(s, "ds1").state, inst(s, "ds2").state], ["BACKUP", "MASTER"]);
});

test("an instance runs only on its members", () => {
  const c = cluster(BASE + VI + "    members: { ds2: {} }\n");
  assert.equal(c.directors.find((d) => d.host.name === "ds1")!.instances.length, 0);
  assert.equal(inst(c, "ds2").priority, 150);
});

test("unicast: true uses each director's address as source and the others as peers", () => {
  const c = cluster(BASE + VI + "    unicast: true\n    members: { ds1: {}, ds2: { unicast_src_ip: 10.77.1.12, interface: eth1 } }\n");
  assert.deepEqual([inst(c, "ds1").unicastSrcIp, inst(c, "ds1").unicastPeers, inst(c, "ds1").interface], ["10.77.0.11", ["10.77.1.12"], "eth0"]);
  assert.deepEqual([inst(c, "ds2").unicastSrcIp, inst(c, "ds2").unicastPeers, inst(c, "ds2").interface], ["10.77.1.12", ["10.77.0.11"], "eth1"]);
  const m = cluster(BASE + VI);
  assert.deepEqual([inst(m, "ds1").unicastSrcIp, inst(m, "ds1").unicastPeers], [undefined, []]);
});

test("an explicit unicast_peer list leaves out the director's own source", () => {
  const c = cluster(BASE + VI + "    unicast_peer: [10.77.0.11, 10.77.0.12]\n    members: { ds1: { unicast_src_ip: 10.77.0.11 }, ds2: { unicast_src_ip: 10.77.0.12 } }\n");
  assert.deepEqual(inst(c, "ds1").unicastPeers, ["10.77.0.12"]);
  assert.deepEqual(inst(c, "ds2").unicastPeers, ["10.77.0.11"]);
});

test("VIP strings and objects", () => {
  assert.deepEqual(parseVip("10.0.0.1"), { address: "10.0.0.1", family: 4, prefix: 32 });
  assert.deepEqual(parseVip("fd00::1"), { address: "fd00::1", family: 6, prefix: 128 });
  assert.deepEqual(parseVip("10.0.0.1/24 dev eth1 label eth1:vip"), { address: "10.0.0.1", family: 4, prefix: 24, dev: "eth1", label: "eth1:vip" });
  assert.deepEqual(parseVip({ address: "10.0.0.2", dev: "bond0" }), { address: "10.0.0.2", family: 4, prefix: 32, dev: "bond0" });
  assert.ok("error" in parseVip("10.0.0.1/40"));
  assert.ok("error" in parseVip("10.0.0/24"));
  assert.ok("error" in parseVip("10.0.0.1/24 dev"));
  const c = cluster(BASE + VI.replace("[10.77.0.100/24]", "[10.77.0.100/24, { address: 10.77.0.101, label: eth0:x }]"));
  assert.deepEqual(inst(c, "ds1").vips, [{ address: "10.77.0.100", prefix: 24 }, { address: "10.77.0.101", prefix: 32, label: "eth0:x" }]);
});

test("router_id: global_defs.router_id, else lvs_id, else the host name", () => {
  assert.deepEqual(cluster(BASE + VI).directors.map((d) => d.routerId), ["ds1", "ds2"]);
  assert.deepEqual(cluster(BASE + VI + "global_defs: { lvs_id: LVS_A }\n").directors.map((d) => d.routerId), ["LVS_A", "LVS_A"]);
  assert.deepEqual(cluster(BASE + VI + "global_defs: { lvs_id: LVS_A, router_id: R }\n").directors.map((d) => d.routerId), ["R", "R"]);
});

test("SSH settings: defaults < all < groups (parents, then children) < host; root and 10 s by default", () => {
  const yaml = `defaults: { user: ops, port: 2200, agent: true }
hosts:
  ds1: { address: 10.77.0.11, port: 22 }
  ds2: { address: 10.77.0.12 }
  rs1: { address: 10.77.0.21, vars: { site: host } }
groups:
  all: { vars: { site: all, dc: one } }
  directors: { hosts: [ds1, ds2], ssh: { user: lb, become: true, connect_timeout: 3 } }
  realservers: { hosts: [], children: [web], ssh: { key_file: a }, vars: { site: rs } }
  web: { hosts: [rs1], ssh: { key_file: b } }
`;
  const c = cluster(yaml);
  const ds1 = c.hosts["ds1"]!;
  assert.deepEqual([ds1.user, ds1.port, ds1.connectTimeoutSec, ds1.agent, ds1.become], ["lb", 22, 3, "/run/agent.sock", { method: "sudo", user: "root" }]);
  assert.equal(c.hosts["ds2"]!.port, 2200);
  const rs1 = c.hosts["rs1"]!;
  assert.deepEqual([rs1.user, rs1.keyFile, rs1.connectTimeoutSec], ["ops", "b", 10]); // web (child) over realservers
  assert.deepEqual(rs1.vars, { site: "host", dc: "one" });
  assert.deepEqual(rs1.groups, ["all", "realservers", "web"]);
  assert.deepEqual(rs1.roles, ["realserver"]);
  const bare = cluster("hosts:\n  a: { address: 10.0.0.1 }\n");
  assert.deepEqual([bare.hosts["a"]!.user, bare.hosts["a"]!.port, bare.hosts["a"]!.connectTimeoutSec], ["root", 22, 10]);
});

test("jump hosts: inventory hosts resolve to their own settings, chains included", () => {
  const yaml = `hosts:
  gw: { address: 203.0.113.1, user: jump, port: 2222 }
  inner: { address: 10.77.0.5, jump: gw, key_file: k }
  deep: { address: 10.77.1.5, jump: [inner, "ops@10.77.1.1"] }
`;
  const c = cluster(yaml);
  assert.deepEqual(c.hosts["inner"]!.jump, [{ name: "gw", address: "203.0.113.1", port: 2222, user: "jump" }]);
  assert.deepEqual(c.hosts["deep"]!.jump, [
    { name: "gw", address: "203.0.113.1", port: 2222, user: "jump" },
    { name: "inner", address: "10.77.0.5", port: 22, user: "root", keyFile: "k" },
    { name: "ops@10.77.1.1", address: "10.77.1.1", port: 22, user: "ops" },
  ]);
});

test("services: names, real server addresses and ports, persistence, checks", () => {
  const yaml =
    BASE +
    VI +
    `virtual_servers:
  - vip: 10.77.0.100
    port: 80
    persistence_timeout: true
    check: { type: HTTP_GET, nb_get_retry: 4, url: [{ path: /, status_code: [200, 204], digest: ABCDEF0123456789ABCDEF0123456789 }] }
    real_servers:
      - { host: rs1 }
      - { address: 10.77.0.23, weight: 0, check: false }
      - { host: rs2, check: { type: MISC_CHECK, misc_path: /bin/true } }
  - { fwmark: 9, lb_kind: NAT, real_servers: [{ host: rs1, port: 8080 }] }
`;
  const c = cluster(yaml);
  const [web, mark] = c.services;
  assert.equal(web!.name, "10.77.0.100:80");
  assert.equal(web!.persistenceTimeout, 360);
  assert.equal(web!.lbAlgo, "wlc");
  assert.equal(web!.lbKind, "DR");
  assert.deepEqual(web!.realServers.map((r) => [r.host, r.address, r.port, r.weight, r.check?.type]), [
    ["rs1", "10.77.0.21", 80, 1, "HTTP_GET"],
    [undefined, "10.77.0.23", 80, 0, undefined],
    ["rs2", "10.77.0.22", 80, 1, "MISC_CHECK"],
  ]);
  assert.deepEqual(web!.realServers[0]!.check, { type: "HTTP_GET", common: { retry: 4 }, urls: [{ path: "/", statusCodes: [200, 204], digest: "abcdef0123456789abcdef0123456789" }] });
  assert.equal(mark!.name, "fwmark9");
  assert.equal(mark!.realServers[0]!.port, 8080);
  assert.deepEqual(c.directorSysctls, {}, "the model keeps only director.sysctls; the NAT baseline is derived (sysctls.ts)");
});

test("roles: real servers named by services are real servers even outside the group", () => {
  const c = cluster(BASE.replace("hosts: [rs1, rs2]", "hosts: [rs1]") + VI + "virtual_servers:\n  - { vip: 10.77.0.100, port: 80, real_servers: [{ host: rs2 }] }\n");
  assert.deepEqual(c.realServers.map((h) => h.name), ["rs1", "rs2"]);
});

test("backend and keepalived install settings, with defaults", () => {
  const d = cluster(BASE + VI);
  assert.equal(d.backend, "keepalived");
  assert.deepEqual(d.keepalived, { from: "package", prefix: "/usr/local", sysconfdir: "/etc", configureOptions: [] });
  assert.deepEqual(d.lvsd, { statusPort: 9547, installDir: "/opt/lvsd", node: "/usr/bin/node", v3Checksum: "strict" });
  assert.deepEqual(d.directorSysctls, {});
  assert.equal(cluster(BASE + VI + "director:\n  lvsd: { v3_checksum: lenient }\n").lvsd.v3Checksum, "lenient");
  assert.equal(cluster(BASE + VI + "director:\n  lvsd: { node: /opt/node-v20/bin/node }\n").lvsd.node, "/opt/node-v20/bin/node");
  const s = cluster(BASE + VI + "director:\n  keepalived: { from: source, version: 2.2.8, tarball: keepalived-2.2.8.tar.gz, sha256: ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789, configure_options: [--enable-snmp] }\n  sysctls: { net.ipv4.vs.conntrack: 1, net.ipv4.ip_forward: \"0\" }\n");
  assert.deepEqual(s.keepalived, { from: "source", version: "2.2.8", tarball: "keepalived-2.2.8.tar.gz", sha256: "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", prefix: "/usr/local", sysconfdir: "/etc", configureOptions: ["--enable-snmp"] });
  // No version: the tarball's name says it (keepalived's release name, or Debian's .orig).
  assert.equal(cluster(BASE + VI + "director:\n  keepalived: { from: source, tarball: https://example.test/dl/keepalived-2.2.7.tar.gz }\n").keepalived.version, "2.2.7");
  assert.equal(cluster(BASE + VI + "director:\n  keepalived: { from: source, tarball: src/keepalived_2.2.7.orig.tar.gz }\n").keepalived.version, "2.2.7");
  assert.deepEqual(s.directorSysctls, { "net.ipv4.vs.conntrack": "1", "net.ipv4.ip_forward": "0" }, "numbers become strings");
});

test("the backup's instance differs from the master's only in state, priority and unicast source", () => {
  const c = cluster(BASE + VI + "    unicast: true\n");
  const a = { ...inst(c, "ds1") } as Record<string, unknown>;
  const b = { ...inst(c, "ds2") } as Record<string, unknown>;
  const differ = Object.keys(a).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  assert.deepEqual(differ, ["priority", "state", "unicastSrcIp", "unicastPeers"]);
});

test("the resolved cluster is JSON-safe", () => {
  const c = cluster(BASE + VI);
  assert.deepEqual(JSON.parse(JSON.stringify(c)), c);
});

test("everybody starts BACKUP where keepalived requires it: preempt_delay, vrrp_strict without 255", () => {
  const d = cluster(BASE + VI + "    preempt_delay: 30\n");
  assert.deepEqual([inst(d, "ds1").state, inst(d, "ds2").state], ["BACKUP", "BACKUP"]);
  const s = cluster(BASE + VI + "global_defs: { vrrp_strict: true }\n");
  assert.deepEqual([inst(s, "ds1").state, inst(s, "ds2").state], ["BACKUP", "BACKUP"]);
  const o = cluster(BASE + VI + "    members: { ds1: { priority: 255 }, ds2: {} }\nglobal_defs: { vrrp_strict: true }\n");
  assert.deepEqual([inst(o, "ds1").state, inst(o, "ds2").state], ["MASTER", "BACKUP"]);
});
