// Issue 9 item 5: the keywords operators bring from their keepalived.conf are accepted and written
// where keepalived has them (lvs_sync_daemon, its 1.x spelling lvs_sync_daemon_interface,
// mcast_src_ip, virtual_ipaddress_excluded, smtp_alert), or refused with a located reason and a
// hint (nat_mask, auth_type AH). Each rendered keepalived.conf goes through `keepalived -t` when
// keepalived is installed here (as test/unit/import/samples.test.ts does); a complaint about an
// interface this machine lacks is set aside, any other line fails.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { importInventory } from "../../../src/import/index.js";
import type { Cluster } from "../../../src/inventory/model.js";
import { renderKeepalivedConf, toLvsdConfig } from "../../../src/render/index.js";
import { fakeSecret } from "../../fixtures/render/index.js";
import { BASE, lines, parse } from "./helpers.js";

const KEEPALIVED = "/usr/sbin/keepalived";
const MISSING_INTERFACE = /doesn't exist|Non-existent interface specified in configuration/;

function cluster(yaml: string): Cluster {
  const r = parse(yaml);
  assert.ok(r.ok, r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  return r.cluster;
}

function conf(yaml: string, director = "ds1"): string {
  return renderKeepalivedConf(cluster(yaml), director, { resolveSecret: fakeSecret, backend: "keepalived" });
}

/** keepalived -t on the text: the lines it printed that are not about a missing interface. */
function keepalivedComplaints(text: string): string[] | undefined {
  if (!existsSync(KEEPALIVED)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-keywords-"));
  try {
    const file = join(dir, "keepalived.conf");
    writeFileSync(file, text);
    const r = spawnSync(KEEPALIVED, ["-t", "-f", file], { encoding: "utf8", timeout: 20_000 });
    return `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => l.trim() !== "" && !MISSING_INTERFACE.test(l));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertKeepalivedAccepts(text: string): void {
  const other = keepalivedComplaints(text);
  if (other) assert.deepEqual(other, [], `keepalived -t on:\n${text}`);
}

/** Two directors, one instance on eth0, one DR service. Lines 9-... */
const CLUSTER = (instanceExtra = "", globalDefs = "", service = "", rs = "") => `${BASE}global_defs:
  router_id: lb${globalDefs}
vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddress: [10.77.0.100/24]${instanceExtra}
virtual_servers:
  - vip: 10.77.0.100
    port: 80
    delay_loop: 6${service}
    real_servers:
      - { host: rs1${rs} }
      - { host: rs2 }
`;

// --- lvs_sync_daemon ---------------------------------------------------------------------------

test("global_defs.lvs_sync_daemon is written in keepalived 2.x's form and feeds lvsd's connection sync", () => {
  const yaml = CLUSTER("", "\n  lvs_sync_daemon: { interface: eth1, instance: VI_1, id: 7, maxlen: 1400, port: 8848, ttl: 2, group: 224.0.0.81 }");
  const text = conf(yaml);
  assert.match(text, /^ {2}lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8848 ttl 2 group 224\.0\.0\.81$/m);
  assertKeepalivedAccepts(text);
  // lvsd takes interface, instance and id; the rest is refused for it (below).
  const lvsd = toLvsdConfig(cluster(CLUSTER("", "\n  lvs_sync_daemon: { interface: eth1, instance: VI_1, id: 7 }")), "ds1", { resolveSecret: fakeSecret, backend: "lvsd" });
  assert.deepEqual(lvsd.lvsSyncDaemon, { interface: "eth1", instance: "VI_1", syncId: 7 });
});

test("lvs_sync_daemon without an id: keepalived's default (the VRID) for lvsd, nothing added for keepalived", () => {
  const yaml = CLUSTER("", "\n  lvs_sync_daemon: { interface: eth1, instance: VI_1 }");
  assert.match(conf(yaml), /^ {2}lvs_sync_daemon eth1 VI_1$/m);
  assert.deepEqual(toLvsdConfig(cluster(yaml), "ds1", { resolveSecret: fakeSecret, backend: "lvsd" }).lvsSyncDaemon, { interface: "eth1", instance: "VI_1", syncId: 51 });
});

test("lvs_sync_daemon is written only on directors that run its instance (keepalived drops it with an error elsewhere)", () => {
  const yaml = CLUSTER("\n    members: { ds1: { priority: 150 } }", "\n  lvs_sync_daemon: { interface: eth1, instance: VI_1 }");
  assert.match(conf(yaml, "ds1"), /lvs_sync_daemon eth1 VI_1/);
  assert.doesNotMatch(conf(yaml, "ds2"), /lvs_sync_daemon/);
});

test("lvs_sync_daemon: an unknown instance, a group that is not multicast, and lvsd-only limits are refused where they are written", () => {
  assert.deepEqual(lines(CLUSTER("", "\n  lvs_sync_daemon: { interface: eth1, instance: VI_2 }")), [
    'inv.yml:11:49: error LVS328: lvs_sync_daemon follows instance "VI_2", which does not exist (keepalived would drop connection sync with an error)',
  ]);
  assert.deepEqual(lines(CLUSTER("", "\n  lvs_sync_daemon: { interface: eth1, instance: VI_1, group: 10.0.0.1 }")), [
    "inv.yml:11:62: error LVS331: lvs_sync_daemon group 10.0.0.1 is not a multicast address (keepalived ignores it with an error, and the kernel would use 224.0.0.81)",
  ]);
  const lvsd = lines(`${CLUSTER("", "\n  lvs_sync_daemon: { interface: eth1, instance: VI_1, port: 8848 }")}director: { backend: lvsd }\n`);
  assert.equal(lvsd.length, 1);
  assert.match(lvsd[0]!, /^inv\.yml:11:55: error LVS602: lvsd starts the kernel's sync daemon with interface, instance and id only/);
  // A name keepalived.conf would read as syntax is refused by the text rules, located.
  assert.match(lines(CLUSTER("", '\n  lvs_sync_daemon: { interface: "eth1 x", instance: VI_1 }'))[0]!, /^inv\.yml:11:33: error LVS123/);
});

test("lvs_sync_daemon_interface (keepalived 1.x, per instance) is read as global_defs.lvs_sync_daemon, with a located note", () => {
  const yaml = CLUSTER("\n    lvs_sync_daemon_interface: eth1");
  const ds = lines(yaml);
  assert.equal(ds.length, 1);
  assert.match(ds[0]!, /^inv\.yml:16:5: warning LVS327: lvs_sync_daemon_interface is keepalived 1\.x's spelling/);
  const text = conf(yaml);
  assert.match(text, /^ {2}lvs_sync_daemon eth1 VI_1$/m);
  assert.doesNotMatch(text, /lvs_sync_daemon_interface/);
  assertKeepalivedAccepts(text);
  // Both spellings, or two instances with the old one: keepalived keeps the first, so lvsctl refuses.
  const both = lines(CLUSTER("\n    lvs_sync_daemon_interface: eth1", "\n  lvs_sync_daemon: { interface: eth1, instance: VI_1 }"));
  assert.ok(both.some((l) => /^inv\.yml:17:5: error LVS329: /.test(l)), both.join("\n"));
});

// --- mcast_src_ip ------------------------------------------------------------------------------

test("mcast_src_ip is keepalived's other name for the source address: written as mcast_src_ip with multicast adverts", () => {
  const yaml = CLUSTER("\n    members: { ds1: { priority: 150 } }\n    mcast_src_ip: 10.77.0.11");
  const text = conf(yaml);
  assert.match(text, /^ {2}mcast_src_ip 10\.77\.0\.11$/m);
  assert.doesNotMatch(text, /unicast_src_ip/);
  assertKeepalivedAccepts(text);
  // The same address lvsd sends from.
  assert.equal(toLvsdConfig(cluster(yaml), "ds1", { resolveSecret: fakeSecret, backend: "lvsd" }).instances[0]!.unicastSrcIp, "10.77.0.11");
});

test("mcast_src_ip: refused beside unicast_src_ip, and one for two directors is refused as unicast_src_ip is", () => {
  const both = lines(CLUSTER("\n    members: { ds1: { priority: 150 } }\n    mcast_src_ip: 10.77.0.11\n    unicast_src_ip: 10.77.0.11"));
  assert.ok(both.some((l) => l.startsWith("inv.yml:17:5: error LVS330: instance VI_1 gives both mcast_src_ip and unicast_src_ip")), both.join("\n"));
  const shared = lines(CLUSTER("\n    mcast_src_ip: 10.77.0.11"));
  assert.deepEqual(shared, ["inv.yml:16:5: error LVS314: instance VI_1 gives one mcast_src_ip for 2 directors; each director must send from its own address"]);
});

// --- virtual_ipaddress_excluded ----------------------------------------------------------------

test("virtual_ipaddress_excluded is written per instance, with the instance's interface as dev, and any address family", () => {
  const yaml = CLUSTER("\n    virtual_ipaddress_excluded: [10.77.1.100/24, { address: 'fd00::100', prefix: 64, dev: eth1 }]");
  const text = conf(yaml);
  assert.match(text, /^ {2}virtual_ipaddress_excluded \{\n {4}10\.77\.1\.100\/24 dev eth0\n {4}fd00::100\/64 dev eth1\n {2}\}$/m);
  assertKeepalivedAccepts(text);
});

test("virtual_ipaddress_excluded: the VIP rules apply (twice, malformed, unusable), located; lvsd refuses it", () => {
  assert.deepEqual(lines(CLUSTER("\n    virtual_ipaddress_excluded: [10.77.0.100/24]")), [
    "inv.yml:16:34: error LVS307: VIP 10.77.0.100 is listed twice in instance VI_1",
  ]);
  assert.match(lines(CLUSTER("\n    virtual_ipaddress_excluded: [10.77.1.300]"))[0]!, /^inv\.yml:16:34: error LVS309: /);
  assert.match(lines(CLUSTER("\n    virtual_ipaddress_excluded: [127.0.0.2]"))[0]!, /^inv\.yml:16:34: error LVS325: /);
  assert.deepEqual(lines(`${CLUSTER("\n    virtual_ipaddress_excluded: [10.77.1.100/24]")}director: { backend: lvsd }\n`), [
    "inv.yml:16:5: error LVS602: instance VI_1: lvsd does not carry virtual_ipaddress_excluded yet, so these addresses would never come up",
  ]);
});

// --- smtp_alert --------------------------------------------------------------------------------

test("smtp_alert is written in global_defs, instances, sync groups, virtual servers and real servers", () => {
  const yaml = `${CLUSTER("\n    smtp_alert: true\n  - { name: VI_2, interface: eth0, virtual_router_id: 52, virtual_ipaddress: [10.77.0.101/24] }", "\n  notification_email: [ops@example.com]\n  notification_email_from: lb@example.com\n  smtp_server: 127.0.0.1\n  smtp_alert: false", "\n    smtp_alert: true", ", smtp_alert: false")}vrrp_sync_groups:\n  - { name: VG_1, group: [VI_1, VI_2], smtp_alert: true }\n`;
  const text = conf(yaml);
  assert.match(text, /^ {2}smtp_alert false\n/m); // global_defs
  assert.match(text, /^vrrp_sync_group VG_1 \{\n(?: .*\n)*? {2}smtp_alert\n\}/m);
  assert.match(text, /^vrrp_instance VI_1 \{\n(?: .*\n)*? {2}smtp_alert\n\}/m);
  assert.match(text, /^ {2}smtp_alert\n\n {2}real_server/m); // virtual_server
  assert.match(text, /^ {4}smtp_alert false$/m); // real_server
  assertKeepalivedAccepts(text);
});

test("smtp_alert with the lvsd backend: a located warning, since lvsd sends no mail", () => {
  assert.deepEqual(lines(`${CLUSTER("", "", "", ", smtp_alert: true")}director: { backend: lvsd }\n`), [
    "inv.yml:21:22: warning LVS603: lvsd sends no mail: smtp_alert is ignored with backend lvsd",
  ]);
});

// --- refused: nat_mask, auth_type AH -------------------------------------------------------------

test("nat_mask is refused as obsolete, where it is written, with what to do instead", () => {
  const ds = parse(CLUSTER("", "", "\n    lb_kind: NAT\n    nat_mask: 255.255.255.0")).diagnostics;
  const d = ds.find((x) => x.code === "LVS433");
  assert.ok(d, ds.map((x) => x.code).join(","));
  assert.equal(d.location?.line, 21);
  assert.match(d.message, /nat_mask is obsolete: it only ever applied to Linux 2\.2's IPVS, and keepalived removed it in 1\.2\.20/);
  assert.match(d.hint ?? "", /remove it/);
});

test("auth_type AH is refused with why, and PASS or no authentication suggested", () => {
  const ds = parse(CLUSTER("\n    authentication: { auth_type: AH, auth_pass: secret }")).diagnostics;
  assert.equal(ds.length, 1, ds.map((x) => x.message).join("\n"));
  const d = ds[0]!;
  assert.equal(d.code, "LVS326");
  assert.equal(d.severity, "error");
  assert.deepEqual([d.location?.line, d.location?.col], [16, 34]);
  assert.match(d.message, /IPsec AH was removed from VRRP by RFC 3768/);
  assert.match(d.hint ?? "", /auth_type: PASS .* or remove authentication:/);
});

// --- the importer carries them over ---------------------------------------------------------------

test("import carries lvs_sync_daemon, lvs_sync_daemon_interface, mcast_src_ip, virtual_ipaddress_excluded and smtp_alert over", () => {
  const text = `global_defs {
  router_id lb1
  smtp_alert
  lvs_sync_daemon eth1 VI_1 id 9 port 8848
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  mcast_src_ip 10.77.0.11
  smtp_alert false
  virtual_ipaddress {
    10.77.0.100/24
  }
  virtual_ipaddress_excluded {
    10.77.1.100/24 dev eth1
  }
}
virtual_server 10.77.0.100 80 {
  lb_kind DR
  smtp_alert
  real_server 10.77.0.21 80 {
    weight 1
    smtp_alert no
  }
}
`;
  const r = importInventory([{ file: "lb1.conf", text }]);
  assert.equal(r.status, "full", r.warnings.map((w) => `${w.line}: ${w.directive}: ${w.why}`).join("\n"));
  const back = parse(r.yaml);
  assert.ok(back.ok);
  const out = renderKeepalivedConf(back.cluster, "lb1", { resolveSecret: fakeSecret, backend: "keepalived" });
  for (const want of [/^ {2}smtp_alert$/m, /^ {2}lvs_sync_daemon eth1 VI_1 id 9 port 8848$/m, /^ {2}mcast_src_ip 10\.77\.0\.11$/m, /^ {2}smtp_alert false$/m, /10\.77\.1\.100\/24 dev eth1/, /^ {4}smtp_alert false$/m]) {
    assert.match(out, want);
  }

  const old = importInventory([{ file: "lb1.conf", text: text.replace("  lvs_sync_daemon eth1 VI_1 id 9 port 8848\n", "").replace("  mcast_src_ip 10.77.0.11\n", "  lvs_sync_daemon_interface eth2\n") }]);
  const w = old.warnings.find((x) => x.directive.startsWith("lvs_sync_daemon_interface"));
  assert.ok(w, old.warnings.map((x) => x.directive).join(","));
  assert.equal(w.kind, "obsolete");
  assert.equal(w.line, 8);
  const again = parse(old.yaml);
  assert.ok(again.ok);
  assert.match(renderKeepalivedConf(again.cluster, "lb1", { resolveSecret: fakeSecret, backend: "keepalived" }), /^ {2}lvs_sync_daemon eth2 VI_1$/m);
});

test("import reports nat_mask as obsolete, where it is", () => {
  const r = importInventory([{ file: "lb1.conf", text: "virtual_server 10.77.0.100 80 {\n  lb_kind DR\n  nat_mask 255.255.255.0\n  real_server 10.77.0.21 80 {\n  }\n}\n" }]);
  const w = r.warnings.find((x) => x.directive.startsWith("nat_mask"));
  assert.ok(w);
  assert.equal(w.kind, "obsolete");
  assert.equal(w.line, 3);
  assert.match(w.why, /removed in keepalived 1\.2\.20/);
});
