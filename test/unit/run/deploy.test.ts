// `lvsctl deploy` against simulated hosts: the real-server bootstrap, then the keepalived
// directors (playbooks/director.yml) one at a time. The roll's gate reads live keepalived state
// (VRRP roles, `ipvsadm -Sn`) that the sim host does not model: a recording roll stands in for it
// here (the keepalived roll itself is tested in roll-keepalived tests and proved in the qemu lab).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deploy, deployPlaybook } from "../../../src/run/deploy.js";
import type { RunEvent } from "../../../src/run/events.js";
import type { Roll } from "../../../src/roll/index.js";
import type { Cluster } from "../../../src/inventory/model.js";
import { clusterFrom, labCluster, labClusterYaml } from "../../fixtures/plan/clusters.js";
import { SimConnector, SimHost, type SimOptions } from "../../fixtures/plan/sim-host.js";

const policy = { knownHostsFiles: [], acceptNew: false };
type Result = Extract<RunEvent, { type: "task.result" }>;

function lab(ds: Partial<SimOptions> = {}) {
  const rs = (name: string, address: string) =>
    new SimHost({ name, links: ["lo", "eth0"], addresses: [{ dev: "eth0", address, prefix: 24 }], routes: { "10.77.0.11": "eth0" }, defaultRoute: { via: "10.77.0.1", dev: "eth0" } });
  const director = (name: string, address: string) =>
    new SimHost({ name, links: ["lo", "eth0"], addresses: [{ dev: "eth0", address, prefix: 24 }], defaultRoute: { via: "10.77.0.1", dev: "eth0" }, ...ds });
  const hosts = { ds1: director("ds1", "10.77.0.11"), ds2: director("ds2", "10.77.0.12"), rs1: rs("rs1", "10.77.0.21"), rs2: rs("rs2", "10.77.0.22"), rs3: rs("rs3", "10.77.1.23") };
  return { ...hosts, connector: new SimConnector(hosts) };
}

/** Backups first, as the keepalived roll orders a cluster where ds1 is master; records its gates. */
function recordingRoll() {
  const gates: string[] = [];
  const make = (): Roll => ({
    async order(hosts) {
      return { hosts: [...hosts].reverse(), reason: "ds1 holds the VIPs: backups first" };
    },
    async gate(host) {
      gates.push(host);
      return { ok: true, reason: "fine" };
    },
  });
  return { gates, make };
}

async function run(l: ReturnType<typeof lab>, opts: { cluster?: Cluster; check?: boolean; renderers?: Parameters<typeof deploy>[1]["renderers"]; tarball?: Parameters<typeof deploy>[1]["tarball"] } = {}) {
  const events: RunEvent[] = [];
  const roll = recordingRoll();
  const result = await deploy(opts.cluster ?? labCluster(), {
    connector: l.connector,
    policy,
    options: { check: opts.check === true },
    rolls: { keepalived: roll.make },
    secrets: { resolve: () => "s3cretpw", mask: (t: string) => t.replaceAll("s3cretpw", "***") },
    ...(opts.renderers ? { renderers: opts.renderers } : {}),
    ...(opts.tarball ? { tarball: opts.tarball } : {}),
    onEvent: (e) => events.push(e),
  });
  const results = events.filter((e): e is Result => e.type === "task.result");
  const changed = (host: string) => results.filter((r) => r.host === host && r.status === "changed").map((r) => r.task);
  return { result, events, results, changed, gates: roll.gates };
}

const CONF = "/etc/keepalived/keepalived.conf";
const systemctl = (h: SimHost, verb: string) => h.log.filter((c) => c.startsWith(`systemctl ${verb} `) && c.includes("keepalived"));

test("deploy, first run on fresh directors: packages, modules, sysctls, a checked keepalived.conf, the unit enabled and started", async () => {
  const l = lab();
  const { result, results, changed, gates, events } = await run(l);
  assert.equal(result.exitCode, 0, JSON.stringify(results.filter((r) => r.status === "failed")));
  // Real servers first (the bootstrap's play), then the directors' two plays.
  const plays = events.flatMap((e) => (e.type === "play.started" ? [e.play] : []));
  assert.deepEqual(plays, ["real-server bootstrap", "director kernel modules", "directors (keepalived)"]);
  for (const ds of [l.ds1, l.ds2]) {
    assert.ok(ds.packages.keepalived && ds.packages.ipvsadm, "keepalived and ipvsadm installed");
    assert.deepEqual([...ds.modules].sort(), ["ip_vs", "ip_vs_wlc"]);
    assert.equal(ds.file("/etc/modules-load.d/lvs.conf")!.split("\n").filter((x) => x && !x.startsWith("#")).join(","), "ip_vs,ip_vs_wlc");
    // NAT service in the cluster: forwarding on, and the IPVS keys applied in the same run.
    assert.equal(ds.sysctls["net.ipv4.ip_forward"], "1");
    assert.equal(ds.sysctls["net.ipv4.vs.expire_nodest_conn"], "1");
    assert.equal(ds.sysctls["net.ipv4.vs.expire_quiescent_template"], "1");
    assert.match(ds.file("/etc/sysctl.d/90-lvs-director.conf")!, /^-net\.ipv4\.vs\.expire_nodest_conn = 1$/m);
    assert.match(ds.file(CONF)!, /virtual_server 10\.77\.0\.100 80/);
    assert.equal(ds.files.get(CONF)!.mode, 0o600, "the config holds the VRRP password");
    assert.match(ds.file("/etc/systemd/system/keepalived.service")!, /^ExecStart=\/usr\/sbin\/keepalived --dont-fork -f \/etc\/keepalived\/keepalived.conf/m);
    assert.deepEqual(ds.units["keepalived.service"], { enabled: "enabled", active: "active" });
    // keepalived -t ran on the new file before it was put in place.
    assert.ok(ds.log.some((c) => /^\/usr\/sbin\/keepalived -t -f \/etc\/keepalived\/\.keepalived\.conf\.lvsctl-tmp-/.test(c)), ds.log.join("\n"));
    // Started by the play: it was not running before, so neither handler acts on it.
    assert.deepEqual(systemctl(ds, "start"), ["systemctl start keepalived.service"]);
    assert.deepEqual([...systemctl(ds, "reload"), ...systemctl(ds, "restart")], []);
  }
  assert.deepEqual(changed("ds1"), ["IPVS modules", "keepalived and ipvsadm packages", "director sysctls", "keepalived config directory", "keepalived.conf", "keepalived unit", "keepalived enabled and running"]);
  const handlers = results.filter((r) => r.host === "ds1" && r.handler).map((r) => `${r.task} ${r.status}`);
  assert.deepEqual(handlers, ["restart keepalived skipped", "reload keepalived skipped"]);
  // One director at a time, in the roll's order, each followed by its gate.
  assert.deepEqual(gates, ["ds2", "ds1"]);
  const seq = events.flatMap((e) => (e.type === "task.result" && e.task === "keepalived.conf" ? [`conf ${e.host}`] : e.type === "gate.result" ? [`gate ${e.host}`] : []));
  assert.deepEqual(seq, ["conf ds2", "gate ds2", "conf ds1", "gate ds1"]);
  // The real servers got their bootstrap (and no director plays ran on them).
  assert.ok(l.rs1.hasAddress("10.77.0.100"));
  assert.equal(l.rs1.packages.keepalived, undefined);
});

test("a VRRP-only cluster (directors, a VIP, no virtual service): no IPVS module loaded or listed, no IPVS sysctl, keepalived set up and started", async () => {
  const l = lab();
  const cluster = clusterFrom(`
defaults: { user: root }
hosts:
  ds1: { address: 10.77.0.11 }
  ds2: { address: 10.77.0.12 }
groups:
  directors: { hosts: [ds1, ds2] }
vrrp_instances:
  - { name: VI_gw, interface: eth0, virtual_router_id: 52, priority: 100, members: { ds1: { priority: 150 }, ds2: { priority: 100 } }, virtual_ipaddress: [10.77.0.1/24] }
`);
  const { result, results, changed } = await run(l, { cluster });
  assert.equal(result.exitCode, 0, JSON.stringify(results.filter((r) => r.status === "failed")));
  for (const ds of [l.ds1, l.ds2]) {
    assert.deepEqual([...ds.modules], [], "no module loaded");
    assert.ok(!ds.log.some((c) => c.includes("modprobe")), ds.log.join("\n"));
    assert.equal(ds.file("/etc/modules-load.d/lvs.conf"), undefined);
    const sysctl = ds.file("/etc/sysctl.d/90-lvs-director.conf")!;
    assert.doesNotMatch(sysctl, /net\.ipv4\.vs\./);
    assert.match(sysctl, /^# No virtual service: the directors only move VIPs \(VRRP\), so no IPVS module and no IPVS keys\.$/m);
    assert.doesNotMatch(ds.file(CONF)!, /virtual_server/);
    assert.match(ds.file(CONF)!, /virtual_router_id 52/);
    assert.deepEqual(ds.units["keepalived.service"], { enabled: "enabled", active: "active" });
  }
  const modules = results.find((r) => r.host === "ds1" && r.task === "IPVS modules")!;
  assert.deepEqual([modules.status, modules.reason], ["skipped", "when: uses_ipvs is false"]);
  assert.ok(changed("ds1").includes("keepalived enabled and running"));
});

test("deploy, second run with nothing changed: no change, no write, no reload", async () => {
  const l = lab();
  await run(l);
  const before = { ds1: l.ds1.log.length, ds2: l.ds2.log.length };
  const second = await run(l);
  assert.equal(second.result.exitCode, 0);
  assert.deepEqual(second.results.filter((r) => r.status === "changed").map((r) => `${r.host} ${r.task}`), []);
  assert.deepEqual(l.ds1.log.slice(before.ds1), [], "nothing ran on ds1 beyond facts");
  assert.deepEqual(l.ds2.log.slice(before.ds2), []);
  assert.equal(l.ds1.conn.calls.filter((c) => c.kind === "put").length, 0, "no file written");
});

test("deploy after a weight change: keepalived.conf rewritten and keepalived reloaded, never restarted", async () => {
  const l = lab();
  await run(l);
  const before = { ds1: l.ds1.log.length, ds2: l.ds2.log.length };
  const yaml = (w: number) =>
    labClusterYaml().replace("real_servers: [{ host: rs1 }, { host: rs2 }]", `real_servers: [{ host: rs1, weight: ${w} }, { host: rs2 }]`);
  const second = await run(l, { cluster: clusterFrom(yaml(3)) });
  assert.equal(second.result.exitCode, 0, JSON.stringify(second.results.filter((r) => r.status === "failed")));
  for (const [name, ds] of [["ds1", l.ds1], ["ds2", l.ds2]] as const) {
    assert.deepEqual(second.changed(name), ["keepalived.conf", "reload keepalived"]);
    const ran = ds.log.slice(before[name]);
    assert.ok(ran.includes("systemctl reload keepalived.service"), ran.join("\n"));
    assert.equal(ran.filter((c) => /systemctl (restart|start|stop) /.test(c)).length, 0, ran.join("\n"));
    assert.match(ds.file(CONF)!, /real_server 10\.77\.0\.21 80 \{\n\s*weight 3$/m);
  }
});

test("a config keepalived -t rejects: the old file stays, that director fails naming why, the roll stops", async () => {
  const l = lab({ keepalivedRejects: /^\s*bogus_keyword\b/ });
  await run(l);
  const old = { ds1: l.ds1.file(CONF), ds2: l.ds2.file(CONF) };
  // A renderer whose keepalived.conf has a keyword keepalived does not know.
  const { defaultRenderers } = await import("../../../src/run/renderers.js");
  const base = defaultRenderers(() => "s3cretpw");
  const renderers = { ...base, director: (c: Cluster, h: string, v: Record<string, unknown>) => base.director!(c, h, v).map((f) => (f.path === CONF ? { ...f, content: f.content.replace("global_defs {", "global_defs {\n    bogus_keyword 1") } : f)) };
  const second = await run(l, { renderers });
  assert.equal(second.result.exitCode, 2);
  const failed = second.results.filter((r) => r.status === "failed");
  assert.deepEqual(failed.map((r) => `${r.host} ${r.task}`), ["ds2 keepalived.conf"]);
  assert.match(failed[0]!.reason, /keepalived -t -f %s.*rejected the new \/etc\/keepalived\/keepalived\.conf; the old file is unchanged/s);
  assert.match(failed[0]!.reason, /\(Line \d+\) Unknown keyword 'bogus_keyword'/);
  assert.equal(l.ds2.file(CONF), old.ds2, "the old config stays on ds2");
  assert.equal(l.ds1.file(CONF), old.ds1, "ds1 (the master, after ds2) is not touched");
  assert.deepEqual(second.gates, [], "no gate after a director that failed, and no next director");
  assert.ok(!l.ds2.log.some((c) => c.startsWith("systemctl reload")), "nothing reloaded");
});

test("deploy --check on fresh directors: reports what it would do, changes nothing", async () => {
  const l = lab();
  const { result, changed } = await run(l, { check: true });
  assert.equal(result.exitCode, 0);
  assert.ok(changed("ds1").includes("keepalived and ipvsadm packages"));
  assert.ok(changed("ds1").includes("keepalived.conf"));
  for (const ds of [l.ds1, l.ds2]) {
    assert.deepEqual(ds.log, [], "no command beyond the facts");
    assert.equal(ds.files.size, 0);
    assert.equal(ds.modules.size, 0);
    assert.equal(ds.packages.keepalived, undefined);
  }
});

test("a cluster with keepalived from source needs its tarball on the controller first; its local path is the director plays' keepalived_tarball (backend lvsd: test/unit/run/deploy-lvsd.test.ts)", () => {
  const source = clusterFrom(labClusterYaml() + "director: { keepalived: { from: source, version: '2.2.7', tarball: ka.tar.gz } }\n");
  assert.throws(() => deployPlaybook(source), /needs the tarball on the controller first/);
  const withTarball = deployPlaybook(source, {}, { path: "/cache/ka.tar.gz", sha256: "0".repeat(64), via: "file" });
  assert.deepEqual(withTarball.notes, []);
  assert.deepEqual(withTarball.vars, { keepalived_tarball: "/cache/ka.tar.gz" });
  assert.deepEqual(withTarball.playbook.plays.map((p) => p.name), ["real-server bootstrap", "director kernel modules", "directors (keepalived)"]);
  assert.deepEqual(deployPlaybook(labCluster()).playbook.plays.map((p) => p.name), ["real-server bootstrap", "director kernel modules", "directors (keepalived)"]);
});

test("a changed unit on a running director: rewritten, systemd reloaded, keepalived restarted (a reload would keep the old unit)", async () => {
  const l = lab();
  await run(l);
  const unit = "/etc/systemd/system/keepalived.service";
  l.ds1.files.set(unit, { content: Buffer.from("[Service]\nExecStart=/bin/false\n"), mode: 0o644 });
  const before = l.ds1.log.length;
  const second = await run(l);
  assert.equal(second.result.exitCode, 0, JSON.stringify(second.results.filter((r) => r.status === "failed")));
  assert.deepEqual(second.changed("ds1"), ["keepalived unit", "restart keepalived"]);
  assert.deepEqual(second.changed("ds2"), []);
  const ran = l.ds1.log.slice(before);
  assert.deepEqual(ran.filter((c) => c.startsWith("systemctl")), ["systemctl daemon-reload", "systemctl restart keepalived.service"]);
  assert.match(l.ds1.file(unit)!, /^ExecStart=\/usr\/sbin\/keepalived --dont-fork/m);
});

/** labCluster with keepalived built from a local tarball, config under /etc/ka, these configure options. */
function sourceCluster(tarball: string, options: string[]) {
  return clusterFrom(labClusterYaml() + `director: { keepalived: { from: source, tarball: ${tarball}, sysconfdir: /etc/ka, configure_options: [${options.join(", ")}] } }\n`);
}

test("deploy with keepalived from source: built into a versioned directory, the unit runs it through the link; again: no rebuild; other options: a second build beside and a restart; back: a flip, no rebuild", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-deploy-src-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tarball = join(dir, "keepalived-2.2.7.tar.gz");
  writeFileSync(tarball, "not really a tarball: the sim host runs no build");
  const l = lab();
  const link = "/usr/local/keepalived";
  const makes = (h: SimHost) => h.log.filter((c) => /make install/.test(c)).length;

  // First run: dependencies, the build, the link, the config under sysconfdir, the unit started.
  const first = await run(l, { cluster: sourceCluster(tarball, ["--disable-snmp"]) });
  assert.equal(first.result.exitCode, 0, JSON.stringify(first.results.filter((r) => r.status === "failed")));
  assert.match(first.result.notes[0]!, /^keepalived 2\.2\.7 source: .*keepalived-2\.2\.7\.tar\.gz, sha256 [0-9a-f]{64} \(no sha256 in the inventory/);
  const ds1 = first.results.filter((r) => r.host === "ds1");
  assert.deepEqual(ds1.filter((r) => r.status === "skipped" && !r.handler).map((r) => r.task), ["keepalived and ipvsadm packages", "ipvsadm and keepalived's build dependencies (dnf)"]);
  assert.ok(first.changed("ds1").includes("ipvsadm and keepalived's build dependencies"));
  assert.ok(first.changed("ds1").includes("keepalived built from source"));
  let firstDir = "";
  for (const ds of [l.ds1, l.ds2]) {
    for (const p of ["ipvsadm", "gcc", "libc6-dev", "make", "libssl-dev", "libnl-3-dev", "libnl-genl-3-dev"]) assert.ok(ds.packages[p], `${p} installed`);
    assert.equal(ds.packages.keepalived, undefined, "no keepalived package");
    const target = ds.symlinks.get(link)!;
    assert.match(target, /^keepalived-2\.2\.7-[0-9a-f]{12}$/);
    firstDir = target;
    assert.equal(JSON.parse(ds.file(`/usr/local/${target}/.lvsctl-build`)!).configureOptions[0], "--disable-snmp");
    assert.ok(ds.log.some((c) => c.includes(`./configure --prefix=/usr/local/${target} --sysconfdir=/etc/ka --disable-snmp`)), "configured into its own directory");
    assert.equal(makes(ds), 1);
    assert.match(ds.file("/etc/ka/keepalived/keepalived.conf")!, /virtual_server 10\.77\.0\.100 80/);
    assert.match(ds.file("/etc/systemd/system/keepalived.service")!, /^ExecStart=\/usr\/local\/keepalived\/sbin\/keepalived -f \/etc\/ka\/keepalived\/keepalived\.conf -p \/run\/keepalived\.pid$/m);
    assert.deepEqual(ds.units["keepalived.service"], { enabled: "enabled", active: "active" });
  }

  // Second run, nothing changed: no task changes, nothing built, nothing restarted.
  const second = await run(l, { cluster: sourceCluster(tarball, ["--disable-snmp"]) });
  assert.deepEqual(second.results.filter((r) => r.status === "changed").map((r) => `${r.host} ${r.task}`), []);
  assert.equal(makes(l.ds1), 1);

  // Another option: a second directory beside the first, the link flips, keepalived restarts.
  const before = l.ds1.log.length;
  const third = await run(l, { cluster: sourceCluster(tarball, ["--disable-snmp", "--enable-json"]) });
  assert.equal(third.result.exitCode, 0);
  assert.deepEqual(third.changed("ds1"), ["keepalived built from source", "restart keepalived"]);
  const secondDir = l.ds1.symlinks.get(link)!;
  assert.notEqual(secondDir, firstDir);
  assert.ok(l.ds1.file(`/usr/local/${firstDir}/.lvsctl-build`) && l.ds1.file(`/usr/local/${secondDir}/.lvsctl-build`), "both builds stay");
  assert.equal(makes(l.ds1), 2);
  assert.deepEqual(l.ds1.log.slice(before).filter((c) => c.startsWith("systemctl")), ["systemctl restart keepalived.service"], "a restart, not a reload");
  const flip = third.results.find((r) => r.host === "ds1" && r.task === "keepalived built from source")!;
  assert.match(flip.reason, /configure options \[--disable-snmp\] -> \[--disable-snmp --enable-json\]/);

  // Back to the first options: no build, the link flips back, keepalived restarts.
  const back = await run(l, { cluster: sourceCluster(tarball, ["--disable-snmp"]) });
  assert.deepEqual(back.changed("ds1"), ["keepalived built from source", "restart keepalived"]);
  assert.equal(makes(l.ds1), 2, "no rebuild");
  assert.equal(l.ds1.symlinks.get(link), firstDir);
  assert.match(back.results.find((r) => r.host === "ds1" && r.task === "keepalived built from source")!.reason, /is built already: no rebuild, only the link flips/);
});

test("deploy --check with a tarball URL not cached yet: nothing downloaded, the note says what deploy would fetch, the build task plans from the inventory's sha256", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-deploy-check-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fetched: string[] = [];
  const tarball = { cacheDir: join(dir, "cache"), fetch: async (u: string) => (fetched.push(u), { ok: true, status: 200, statusText: "OK", arrayBuffer: async () => new ArrayBuffer(0) }) };
  const url = "https://user:pw@example.test/keepalived-2.2.7.tar.gz";
  const withSum = (sum: string) => clusterFrom(labClusterYaml() + `director: { keepalived: { from: source, tarball: "${url}"${sum ? `, sha256: ${sum}` : ""} } }\n`);

  // No sha256: the build cannot be named; the task says a build follows the download.
  const l = lab();
  const bare = await run(l, { cluster: withSum(""), check: true, tarball });
  assert.equal(bare.result.exitCode, 0, JSON.stringify(bare.results.filter((r) => r.status === "failed")));
  assert.deepEqual(fetched, [], "--check downloads nothing");
  assert.match(bare.result.notes[0]!, /^keepalived 2\.2\.7 source: --check downloads nothing; deploy would fetch https:\/\/\*\*\*@example\.test\/keepalived-2\.2\.7\.tar\.gz once into .*cache, then upload it/);
  assert.doesNotMatch(bare.result.notes.join(" "), /pw@/, "no password in the note");
  const build = bare.results.find((r) => r.host === "ds1" && r.task === "keepalived built from source")!;
  assert.equal(build.status, "changed");
  assert.match(build.reason, /tarball is not on this controller yet \(--check downloads nothing\): deploy fetches it, then builds keepalived 2\.2\.7/);
  assert.equal(l.ds1.conn.calls.filter((c) => c.kind === "put").length, 0, "nothing written on the director");

  // With the inventory's sha256 the build directory is known: --check tells a build from a flip.
  const sum = "ab".repeat(32);
  const named = await run(lab(), { cluster: withSum(sum), check: true, tarball });
  assert.match(named.result.notes[0]!, new RegExp(`checked against sha256 ${sum}`));
  const planned = named.results.find((r) => r.host === "ds1" && r.task === "keepalived built from source")!;
  assert.match(planned.reason, /^building keepalived-2\.2\.7-[0-9a-f]{12}; no active build/);
  assert.ok(planned.steps.includes("make install"));
  assert.deepEqual(fetched, []);
});
