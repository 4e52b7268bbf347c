import { test } from "node:test";
import assert from "node:assert/strict";
import { bootstrap } from "../../../src/run/bootstrap.js";
import type { RunEvent } from "../../../src/run/events.js";
import { renderRealServer } from "../../../src/render/index.js";
import { parsePlaybook } from "../../../src/run/playbook.js";
import { runPlaybook } from "../../../src/run/executor.js";
import { clusterFrom, labCluster } from "../../fixtures/plan/clusters.js";
import { SimConnector, SimHost } from "../../fixtures/plan/sim-host.js";

const policy = { knownHostsFiles: [], acceptNew: false };
const NAT_TASK = "NAT default route via the directors' gateway";

function lab() {
  const rs1 = new SimHost({ name: "rs1", links: ["lo", "eth0"], addresses: [{ dev: "lo", address: "127.0.0.1", prefix: 8 }, { dev: "eth0", address: "10.77.0.21", prefix: 24 }], routes: { "10.77.0.11": "eth0" }, defaultRoute: { via: "10.77.0.1", dev: "eth0" } });
  const rs2 = new SimHost({ name: "rs2", links: ["lo", "ens3.100"], addresses: [{ dev: "ens3.100", address: "10.77.0.22", prefix: 24 }], routes: { "10.77.0.11": "ens3.100" }, defaultRoute: { via: "10.77.0.1", dev: "ens3.100" } });
  const rs3 = new SimHost({ name: "rs3", links: ["lo", "eth0"], addresses: [{ dev: "eth0", address: "10.77.1.23", prefix: 24 }], routes: { "10.77.0.11": "eth0" }, defaultRoute: { via: "10.77.1.254", dev: "eth0" } });
  return { rs1, rs2, rs3, connector: new SimConnector({ rs1, rs2, rs3 }) };
}

async function run(l: ReturnType<typeof lab>, cluster = labCluster(), options = {}) {
  const events: RunEvent[] = [];
  const result = await bootstrap(cluster, { connector: l.connector, policy, options, onEvent: (e) => events.push(e) });
  return { result, events, results: events.filter((e): e is Extract<RunEvent, { type: "task.result" }> => e.type === "task.result") };
}

test("bootstrap: first run configures DR real servers, second run changes nothing", async () => {
  const l = lab();
  const first = await run(l);
  assert.equal(first.result.exitCode, 0, JSON.stringify(first.results.filter((r) => r.status === "failed")));
  // rs1: sysctls live and persisted, VIP on lo, unit installed, enabled and started.
  assert.equal(l.rs1.sysctls["net.ipv4.conf.all.arp_ignore"], "1");
  assert.equal(l.rs1.sysctls["net.ipv4.conf.all.arp_announce"], "2");
  assert.equal(l.rs1.sysctls["net.ipv4.conf.eth0.arp_ignore"], "1");
  assert.equal(l.rs1.sysctls["net.ipv4.conf.default.arp_ignore"], "1");
  assert.match(l.rs1.file("/etc/sysctl.d/90-lvs-realserver.conf")!, /^net\.ipv4\.conf\.all\.arp_ignore = 1$/m);
  assert.match(l.rs1.file("/etc/sysctl.d/90-lvs-realserver.conf")!, /^net\.ipv4\.conf\.eth0\.arp_announce = 2$/m);
  assert.equal(l.rs1.file("/etc/sysctl.d/91-lvs-realserver-iface.conf"), undefined, "one sysctl file");
  assert.ok(l.rs1.hasAddress("10.77.0.100"));
  assert.match(l.rs1.file("/etc/systemd/system/lvs-rs-vip.service")!, /^ExecStart=\/sbin\/ip addr replace 10\.77\.0\.100\/32 dev lo$/m);
  assert.deepEqual(l.rs1.units["lvs-rs-vip.service"], { enabled: "enabled", active: "active" });
  assert.deepEqual(JSON.parse(l.rs1.file("/var/lib/lvsctl/state.json")!).addresses, { "lvs-rs-vip.service": ["10.77.0.100/32 dev lo"] });
  // rs2's interface has a dot: its sysctl key uses a slash (sysctl(8)).
  assert.equal(l.rs2.sysctls["net.ipv4.conf.ens3/100.arp_ignore"], "1");
  assert.match(l.rs2.file("/etc/sysctl.d/90-lvs-realserver.conf")!, /^net\.ipv4\.conf\.ens3\/100\.arp_ignore = 1$/m);
  // rs3 serves only NAT: no VIP, no ARP sysctls; its default route now goes through the gateway
  // VIP on its network (10.77.1.1/24, no service's VIP), set now and put back on boot by a unit,
  // and the route it replaced is recorded.
  assert.equal(l.rs3.sysctls["net.ipv4.conf.all.arp_ignore"], "0");
  const nat = first.results.find((r) => r.host === "rs3" && r.task === NAT_TASK)!;
  assert.equal(nat.status, "changed");
  assert.deepEqual(l.rs3.defaultRoute, { via: "10.77.1.1" });
  assert.match(l.rs3.file("/etc/systemd/system/lvs-rs-gateway.service")!, /^ExecStart=\/sbin\/ip route replace default via 10\.77\.1\.1$/m);
  assert.equal(l.rs3.units["lvs-rs-gateway.service"]?.enabled, "enabled");
  assert.deepEqual(JSON.parse(l.rs3.file("/var/lib/lvsctl/gateway.json")!), { version: 1, gateway: "10.77.1.1", previous: { via: "10.77.1.254", dev: "eth0" } });
  assert.equal(l.rs1.file("/etc/systemd/system/lvs-rs-gateway.service"), undefined, "DR real servers get no gateway unit");
  // One fact round trip per host.
  assert.equal(l.rs1.factRuns, 1);

  const before = { rs1: l.rs1.log.length, rs2: l.rs2.log.length, rs3: l.rs3.log.length };
  const second = await run(l);
  assert.equal(second.result.exitCode, 0);
  assert.deepEqual(Object.values(second.result.recap).map((r) => r.changed), [0, 0, 0]);
  assert.deepEqual({ rs1: l.rs1.log.length, rs2: l.rs2.log.length, rs3: l.rs3.log.length }, before, "no command ran on the second run");
});

test("bootstrap: a real server that leaves the service loses its VIP on the next run", async () => {
  const l = lab();
  await run(l);
  assert.ok(l.rs2.hasAddress("10.77.0.100"));
  const r = await run(l, labCluster({ drRealServers: ["rs1"] }));
  assert.equal(r.result.exitCode, 0);
  assert.ok(!l.rs2.hasAddress("10.77.0.100"), "VIP removed from rs2");
  assert.ok(l.rs1.hasAddress("10.77.0.100"), "rs1 keeps it");
  // rs2 serves no VIP any more: render gives it no unit, so it has none.
  assert.equal(l.rs2.file("/etc/systemd/system/lvs-rs-vip.service"), undefined, "the unit is removed");
  assert.equal(l.rs2.units["lvs-rs-vip.service"], undefined, "stopped, disabled and forgotten after daemon-reload");
  assert.ok(l.rs2.log.includes("systemctl disable --now --quiet lvs-rs-vip.service"));
  assert.deepEqual(JSON.parse(l.rs2.file("/var/lib/lvsctl/state.json")!).addresses, {});
  // and again: nothing left to do
  const again = await run(l, labCluster({ drRealServers: ["rs1"] }));
  assert.equal(again.result.recap.rs2!.changed, 0);
});

test("bootstrap: a VIP that changes is swapped on lo, an address lvsctl did not add is left alone", async () => {
  const l = lab();
  l.rs1.addresses.push({ dev: "lo", address: "192.0.2.77", prefix: 32 }); // the admin's own
  await run(l);
  await run(l, labCluster({ vip: "10.77.0.150" }));
  assert.ok(!l.rs1.hasAddress("10.77.0.100"));
  assert.ok(l.rs1.hasAddress("10.77.0.150"));
  assert.ok(l.rs1.hasAddress("192.0.2.77"));
});

test("bootstrap --check changes nothing and reports what would change", async () => {
  const l = lab();
  const r = await run(l, labCluster(), { check: true, diff: true });
  assert.equal(r.result.exitCode, 0);
  assert.deepEqual([l.rs1.log, l.rs2.log, l.rs3.log], [[], [], []], "no mutating command");
  assert.equal(l.rs1.conn.calls.filter((c) => c.kind === "put").length, 0, "no upload");
  assert.ok(r.results.some((x) => x.host === "rs1" && x.status === "changed" && x.check));
  const vip = r.results.find((x) => x.host === "rs1" && x.task === "VIPs on lo")!;
  assert.ok(vip.steps.includes("/sbin/ip addr replace 10.77.0.100/32 dev lo"));
  assert.match(vip.diff!, /^\+ExecStart=\/sbin\/ip addr replace 10\.77\.0\.100\/32 dev lo$/m);
});

test("bootstrap: a NAT-only real server gets no VIP unit; a host named only by a service is a real server too", async () => {
  const l = lab();
  await run(l);
  assert.equal(l.rs3.file("/etc/systemd/system/lvs-rs-vip.service"), undefined);
  const { selectHosts } = await import("../../../src/run/select.js");
  const { clusterFrom } = await import("../../fixtures/plan/clusters.js");
  const c = clusterFrom(`
hosts: { ds1: { address: 10.77.0.11 }, web9: { address: 10.77.0.29 } }
groups: { directors: { hosts: [ds1] } }
vrrp_instances: [ { name: V, interface: eth0, virtual_router_id: 9, priority: 100, virtual_ipaddress: [10.77.0.100/24] } ]
virtual_servers: [ { vip: 10.77.0.100, port: 80, real_servers: [ { host: web9 } ] } ]
`);
  assert.deepEqual(selectHosts(c, ["realservers"]), ["web9"]);
  assert.deepEqual(selectHosts(c, ["directors"]), ["ds1"]);
});

const RS_FILES = ["/etc/sysctl.d/90-lvs-realserver.conf", "/etc/systemd/system/lvs-rs-vip.service"];
const noSecret = { resolveSecret: () => "unused" };

test("bootstrap writes exactly src/render's files: the interface from facts, or lvs_interface as render shows it", async () => {
  const l = lab();
  await run(l);
  const cluster = labCluster();
  // rs1's route to the first director leaves by eth0, rs2's by ens3.100.
  for (const [name, sim, iface] of [["rs1", l.rs1, "eth0"], ["rs2", l.rs2, "ens3.100"]] as const) {
    const want = renderRealServer(cluster, name, { ...noSecret, realServerInterface: iface });
    assert.deepEqual(want.map((f) => f.path), RS_FILES);
    for (const f of want) assert.equal(sim.file(f.path), f.content, `${name}:${f.path} is the rendered file`);
    assert.equal(sim.files.get(RS_FILES[1]!)!.mode, 0o644);
  }
  // With the host var set, what `lvsctl render` shows (no facts) is byte for byte what the host gets.
  const withVar = labCluster();
  withVar.hosts.rs1!.vars.lvs_interface = "eth0";
  const l2 = lab();
  await run(l2, withVar);
  for (const f of renderRealServer(withVar, "rs1", noSecret)) assert.equal(l2.rs1.file(f.path), f.content);
});

test("a playbook with render: realserver does not fight the bootstrap", async () => {
  const l = lab();
  await run(l);
  const r = parsePlaybook(`- { name: p, hosts: rs1, tasks: [ { name: rs files, render: realserver } ] }`, "p.yml");
  const result = await runPlaybook({ cluster: labCluster(), playbook: r.playbook!, connector: l.connector, policy, onEvent: () => {} });
  assert.equal(result.recap.rs1!.changed, 0, "the same bytes: nothing to upload");
  assert.equal(result.recap.rs1!.ok, 1);
  const again = await run(l);
  assert.deepEqual(Object.values(again.result.recap).map((x) => x.changed), [0, 0, 0]);
});

test("bootstrap: a NAT real server that becomes DR gets its old default route back, and loses the gateway unit", async () => {
  const l = lab();
  await run(l);
  assert.deepEqual(l.rs3.defaultRoute, { via: "10.77.1.1" });
  // rs3 moves to the DR service (its VIP on lo), out of the NAT one.
  const dr = clusterFrom(natYaml({ nat: "rs1", dr: "rs2, rs3" }));
  const r = await run(l, dr);
  assert.equal(r.result.exitCode, 0, JSON.stringify(r.results.filter((x) => x.status === "failed")));
  assert.deepEqual(l.rs3.defaultRoute, { via: "10.77.1.254", dev: "eth0" }, "the route lvsctl replaced is back");
  assert.equal(l.rs3.file("/etc/systemd/system/lvs-rs-gateway.service"), undefined);
  assert.equal(l.rs3.file("/var/lib/lvsctl/gateway.json"), undefined);
  assert.ok(l.rs3.hasAddress("10.77.0.100"), "and it holds the DR VIP now");
  // rs1 became the NAT one: its network holds only a service's VIP, no gateway to infer: checked and warned, not set.
  const rs1 = r.results.find((x) => x.host === "rs1" && x.task === NAT_TASK)!;
  assert.equal(rs1.status, "ok");
  assert.match(rs1.warnings?.[0] ?? "", /default via 10\.77\.0\.1 dev eth0, not via a director/);
  const again = await run(l, dr);
  assert.deepEqual(Object.values(again.result.recap).map((x) => x.changed), [0, 0, 0]);
});

test("bootstrap: --check and --diff show the route change and change nothing", async () => {
  const l = lab();
  const r = await run(l, labCluster(), { check: true, diff: true });
  assert.equal(r.result.exitCode, 0);
  const nat = r.results.find((x) => x.host === "rs3" && x.task === NAT_TASK)!;
  assert.equal(nat.status, "changed");
  assert.match(nat.diff ?? "", /^-default via 10\.77\.1\.254 dev eth0$/m);
  assert.match(nat.diff ?? "", /^\+default via 10\.77\.1\.1$/m);
  assert.match(nat.diff ?? "", /^\+ExecStart=\/sbin\/ip route replace default via 10\.77\.1\.1$/m);
  assert.deepEqual(l.rs3.defaultRoute, { via: "10.77.1.254", dev: "eth0" }, "nothing changed");
  assert.deepEqual(l.rs3.log, []);
});

test("bootstrap: a TUN real server gets ipip, tunl0 up and its rp_filter in the same run; leaving TUN undoes it", async () => {
  const l = lab();
  const tun = clusterFrom(natYaml({ nat: "rs3", dr: "rs2", tun: "rs1" }));
  const r = await run(l, tun);
  assert.equal(r.result.exitCode, 0, JSON.stringify(r.results.filter((x) => x.status === "failed")));
  assert.ok(l.rs1.links.includes("tunl0") && !l.rs1.down.has("tunl0"), "ipip loaded, tunl0 up");
  assert.equal(l.rs1.sysctls["net.ipv4.conf.tunl0.rp_filter"], "0");
  assert.equal(l.rs1.file("/etc/modules-load.d/lvs-realserver.conf")?.split("\n").filter((x) => x && !x.startsWith("#")).join(), "ipip");
  assert.match(l.rs1.file("/etc/sysctl.d/90-lvs-realserver.conf")!, /^-net\.ipv4\.conf\.tunl0\.rp_filter = 0$/m);
  assert.ok(!l.rs2.links.includes("tunl0"), "the DR real server gets no tunnel");
  const again = await run(l, tun);
  assert.equal(again.result.recap.rs1!.changed, 0, "second run: nothing");
  // rs1 becomes DR: the boot file goes, tunl0 goes down.
  const back = await run(l, clusterFrom(natYaml({ nat: "rs3", dr: "rs1, rs2" })));
  assert.equal(back.result.exitCode, 0);
  assert.equal(l.rs1.file("/etc/modules-load.d/lvs-realserver.conf"), undefined);
  assert.ok(l.rs1.down.has("tunl0"));
  assert.equal((await run(l, clusterFrom(natYaml({ nat: "rs3", dr: "rs1, rs2" })))).result.recap.rs1!.changed, 0);
});

function natYaml(o: { nat: string; dr: string; tun?: string }): string {
  return `
defaults: { user: root }
hosts:
  ds1: { address: 10.77.0.11 }
  ds2: { address: 10.77.0.12 }
  rs1: { address: 10.77.0.21 }
  rs2: { address: 10.77.0.22 }
  rs3: { address: 10.77.1.23 }
groups:
  directors: { hosts: [ds1, ds2] }
  realservers: { hosts: [rs1, rs2, rs3] }
vrrp_instances:
  - name: VI_web
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddress: [10.77.0.100/24, ${o.tun ? "10.77.0.102/24, " : ""}10.77.1.1/24]
virtual_servers:
  - vip: 10.77.0.100
    port: 80
    real_servers: [${o.dr.split(", ").map((h) => `{ host: ${h} }`).join(", ")}]
  - vip: 10.77.0.101
    port: 8080
    lb_kind: NAT
    real_servers: [{ host: ${o.nat} }]
${o.tun ? `  - vip: 10.77.0.102
    port: 80
    lb_kind: TUN
    real_servers: [{ host: ${o.tun} }]
` : ""}`;
}

test("bootstrap: an inventory with no directors sets up its real servers; the interface it cannot find is a warning, once per run", async () => {
  const l = lab();
  const cluster = clusterFrom(`
defaults: { user: root }
hosts:
  rs1: { address: 10.77.0.21 }
  rs2: { address: 10.77.0.22, vars: { lvs_interface: ens3.100 } }
groups:
  realservers: { hosts: [rs1, rs2] }
virtual_servers:
  - { vip: 10.77.0.100, port: 80, real_servers: [{ host: rs1 }, { host: rs2 }] }
`);
  const r = await run(l, cluster);
  assert.equal(r.result.exitCode, 0, JSON.stringify(r.results.filter((x) => x.status === "failed")));
  assert.ok(l.rs1.hasAddress("10.77.0.100"));
  const arp = (h: string) => r.results.find((x) => x.host === h && x.task === "ARP sysctls")!;
  assert.equal(arp("rs1").warnings?.length, 1);
  assert.match(arp("rs1").warnings![0]!, /no interface facing the directors: the inventory names no director.*lvs_interface/);
  assert.equal(arp("rs2").warnings, undefined, "lvs_interface given: nothing to warn about");
  assert.equal(l.rs2.sysctls["net.ipv4.conf.ens3/100.arp_ignore"], "1");
  const again = await run(l, cluster);
  assert.equal(again.result.recap.rs1!.changed, 0);
  assert.equal(again.results.find((x) => x.host === "rs1" && x.task === "ARP sysctls")!.warnings?.length, 1, "warned again: the file still lacks the lines");
});
