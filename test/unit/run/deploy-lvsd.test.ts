// `lvsctl deploy` with director.backend: lvsd against simulated hosts: the real-server bootstrap,
// then playbooks/director-lvsd.yml (modules and packages on every director, then one director at
// a time: the bundle, a checked lvsd.json, the unit, keepalived stopped, lvsd started). The roll's
// gate reads live VRRP and IPVS state the sim host does not model: a recording roll stands in for
// it (the lvsd roll itself is tested in test/unit/roll, and proved in the qemu lab).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deploy, deployPlaybook, lvsdBundleDir } from "../../../src/run/deploy.js";
import type { RunEvent } from "../../../src/run/events.js";
import type { Roll } from "../../../src/roll/index.js";
import type { Cluster } from "../../../src/inventory/model.js";
import { LvsctlError } from "../../../src/errors/index.js";
import { clusterFrom, labClusterYaml } from "../../fixtures/plan/clusters.js";
import { SimConnector, SimHost, type SimOptions } from "../../fixtures/plan/sim-host.js";
import { abiNote, elfWithNotes } from "../../fixtures/plan/elf.js";
import { ADDON_ABI_VERSION } from "../../../src/daemon/native/abi.js";

const policy = { knownHostsFiles: [], acceptNew: false };
type Result = Extract<RunEvent, { type: "task.result" }>;

/** A stand-in for scripts/build-lvsd.mjs's output: the three files, the addon with a real ELF header and ABI note, the manifest. */
function bundle(opts: { machine?: number; version?: string; addonAbi?: number | null; manifest?: string | null } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-bundle-"));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "lvsd.cjs"), `#!/usr/bin/env node\n// lvsd ${opts.version ?? "0.1.0"}\n`);
  writeFileSync(join(dir, "lvsd-vrrp.cjs"), "// worker\n");
  const abi = opts.addonAbi === undefined ? ADDON_ABI_VERSION : opts.addonAbi;
  writeFileSync(join(dir, "lvsd_socket.node"), elfWithNotes(opts.machine ?? 62, abi === null ? [] : [abiNote(abi)]));
  const manifest = opts.manifest === undefined ? `{"addonAbiVersion":${ADDON_ABI_VERSION}}\n` : opts.manifest;
  if (manifest !== null) writeFileSync(join(dir, "lvsd-bundle.json"), manifest);
  return dir;
}

const lvsdCluster = (extra = "") => clusterFrom(labClusterYaml() + `director: { backend: lvsd${extra} }\n`);

function lab(ds: Partial<SimOptions> = {}) {
  const rs = (name: string, address: string) =>
    new SimHost({ name, links: ["lo", "eth0"], addresses: [{ dev: "eth0", address, prefix: 24 }], routes: { "10.77.0.11": "eth0" }, defaultRoute: { via: "10.77.0.1", dev: "eth0" } });
  const director = (name: string, address: string) =>
    new SimHost({ name, links: ["lo", "eth0"], addresses: [{ dev: "eth0", address, prefix: 24 }], defaultRoute: { via: "10.77.0.1", dev: "eth0" }, ...ds });
  const hosts = { ds1: director("ds1", "10.77.0.11"), ds2: director("ds2", "10.77.0.12"), rs1: rs("rs1", "10.77.0.21"), rs2: rs("rs2", "10.77.0.22"), rs3: rs("rs3", "10.77.1.23") };
  return { ...hosts, connector: new SimConnector(hosts) };
}

function recordingRoll() {
  const gates: string[] = [];
  const asked: string[] = [];
  const make = (name: string) => (): Roll => ({
    async order(hosts) {
      asked.push(name);
      return { hosts: [...hosts].reverse(), reason: "ds1 holds the VIPs: backups first" };
    },
    async gate(host) {
      gates.push(host);
      return { ok: true, reason: "fine" };
    },
  });
  return { gates, asked, make };
}

async function run(l: ReturnType<typeof lab>, opts: { cluster?: Cluster; check?: boolean; bundle?: string } = {}) {
  const events: RunEvent[] = [];
  const roll = recordingRoll();
  const result = await deploy(opts.cluster ?? lvsdCluster(), {
    connector: l.connector,
    policy,
    options: { check: opts.check === true },
    rolls: { keepalived: roll.make("keepalived"), lvsd: roll.make("lvsd") },
    secrets: { resolve: () => "s3cretpw", mask: (t: string) => t.replaceAll("s3cretpw", "***") },
    paths: { lvsdBundle: opts.bundle ?? bundle() },
    onEvent: (e) => events.push(e),
  });
  const results = events.filter((e): e is Result => e.type === "task.result");
  const changed = (host: string) => results.filter((r) => r.host === host && r.status === "changed").map((r) => r.task);
  return { result, events, results, changed, gates: roll.gates, asked: roll.asked };
}

const JSON_PATH = "/etc/lvsd/lvsd.json";
const UNIT = "/etc/systemd/system/lvsd.service";
const systemctl = (h: SimHost) => h.log.filter((c) => c.startsWith("systemctl "));

test("deploy with backend lvsd picks director-lvsd.yml and needs the bundle; keepalived clusters keep director.yml", () => {
  const plan = deployPlaybook(lvsdCluster(), { lvsdBundle: bundle() });
  assert.deepEqual(plan.playbook.plays.map((p) => p.name), ["real-server bootstrap", "director kernel modules and packages (lvsd)", "directors (lvsd)"]);
  assert.equal(plan.playbook.plays[2]!.roll, "lvsd");
  assert.deepEqual(plan.notes, []);
  assert.ok(typeof plan.vars.lvsd_bundle === "string");
  const empty = mkdtempSync(join(tmpdir(), "lvsctl-nobundle-"));
  assert.throws(
    () => lvsdBundleDir(empty),
    (e: unknown) => e instanceof LvsctlError && e.code === "LVS758" && /lacks lvsd\.cjs, lvsd-vrrp\.cjs, lvsd_socket\.node/.test(e.message) && /build-lvsd\.mjs --outdir/.test(e.hint ?? ""),
  );
  // keepalived from source: director.yml too (its build: test/unit/run/deploy.test.ts).
  const source = clusterFrom(labClusterYaml() + "director: { keepalived: { from: source, version: '2.2.7', tarball: ka.tar.gz } }\n");
  assert.match(deployPlaybook(source, {}, { path: "/c/ka.tar.gz", sha256: "0".repeat(64), via: "file" }).playbook.file, /director\.yml$/);
});

test("deploy lvsd, first run on fresh directors: node and ipvsadm, the bundle, a checked lvsd.json, the unit enabled and started", async () => {
  const l = lab();
  const { result, results, changed, gates, events, asked } = await run(l);
  assert.equal(result.exitCode, 0, JSON.stringify(results.filter((r) => r.status === "failed")));
  const plays = events.flatMap((e) => (e.type === "play.started" ? [e.play] : []));
  assert.deepEqual(plays, ["real-server bootstrap", "director kernel modules and packages (lvsd)", "directors (lvsd)"]);
  assert.deepEqual(asked, ["lvsd"]);
  for (const ds of [l.ds1, l.ds2]) {
    assert.ok(ds.packages.nodejs && ds.packages.ipvsadm, "nodejs and ipvsadm installed");
    assert.equal(ds.packages.keepalived, undefined, "no keepalived package");
    assert.deepEqual([...ds.modules].sort(), ["ip_vs", "ip_vs_wlc"]);
    assert.equal(ds.sysctls["net.ipv4.vs.expire_nodest_conn"], "1");
    for (const f of ["lvsd.cjs", "lvsd-vrrp.cjs", "lvsd_socket.node", "lvsd-bundle.json"]) assert.ok(ds.files.has(`/opt/lvsd/${f}`), `/opt/lvsd/${f} uploaded`);
    const conf = JSON.parse(ds.file(JSON_PATH)!);
    assert.equal(conf.services[0].vip, "10.77.0.100");
    assert.equal(ds.files.get(JSON_PATH)!.mode, 0o600, "the config holds the VRRP password");
    assert.match(ds.file(UNIT)!, /^ExecStart=\/usr\/bin\/node \/opt\/lvsd\/lvsd\.cjs --config \/etc\/lvsd\/lvsd\.json$/m);
    // lvsd --check ran on the new file (with the bundle just uploaded) before it was put in place.
    assert.ok(ds.log.some((c) => /^\/usr\/bin\/node \/opt\/lvsd\/lvsd\.cjs --config \/etc\/lvsd\/\.lvsd\.json\.lvsctl-tmp-\S+ --check$/.test(c)), ds.log.join("\n"));
    assert.deepEqual(ds.units["lvsd.service"], { enabled: "enabled", active: "active" });
    // Started by the play: it was not running before, so neither handler acts on it.
    assert.ok(systemctl(ds).includes("systemctl start lvsd.service"));
    assert.ok(!systemctl(ds).some((c) => / (reload|restart|kill) /.test(c)), systemctl(ds).join("\n"));
  }
  assert.deepEqual(changed("ds1"), ["IPVS modules", "nodejs package", "ipvsadm package", "director sysctls", "lvsd bundle", "lvsd config directory", "lvsd.json", "lvsd unit", "lvsd enabled and running"]);
  const handlers = results.filter((r) => r.host === "ds1" && r.handler).map((r) => `${r.task} ${r.status}`);
  assert.deepEqual(handlers, ["reload lvsd skipped", "restart lvsd skipped"]);
  const bundleTask = results.find((r) => r.host === "ds1" && r.task === "lvsd bundle")!;
  assert.match(bundleTask.reason, /4 of 4 file\(s\) differ; node 18\.19\.0 at \/usr\/bin\/node, x86_64/);
  // One director at a time, each followed by its gate.
  assert.deepEqual(gates, ["ds2", "ds1"]);
  const seq = events.flatMap((e) => (e.type === "task.result" && e.task === "lvsd enabled and running" ? [`start ${e.host}`] : e.type === "gate.result" ? [`gate ${e.host}`] : []));
  assert.deepEqual(seq, ["start ds2", "gate ds2", "start ds1", "gate ds1"]);
  assert.ok(l.rs1.hasAddress("10.77.0.100"), "the real servers got their bootstrap");
});

test("deploy lvsd, second run with nothing changed: no change, no write, no reload", async () => {
  const l = lab();
  const b = bundle();
  await run(l, { bundle: b });
  const before = { ds1: l.ds1.log.length, ds2: l.ds2.log.length };
  const second = await run(l, { bundle: b });
  assert.equal(second.result.exitCode, 0);
  assert.deepEqual(second.results.filter((r) => r.status === "changed").map((r) => `${r.host} ${r.task}`), []);
  assert.deepEqual(l.ds1.log.slice(before.ds1), [], "nothing ran on ds1 beyond facts");
  assert.deepEqual(l.ds2.log.slice(before.ds2), []);
});

test("deploy lvsd after a weight change: lvsd.json checked and replaced, lvsd reloaded (SIGHUP), never restarted", async () => {
  const l = lab();
  const b = bundle();
  await run(l, { bundle: b });
  const before = { ds1: l.ds1.log.length, ds2: l.ds2.log.length };
  const yaml = labClusterYaml().replace("real_servers: [{ host: rs1 }, { host: rs2 }]", "real_servers: [{ host: rs1, weight: 3 }, { host: rs2 }]") + "director: { backend: lvsd }\n";
  const second = await run(l, { cluster: clusterFrom(yaml), bundle: b });
  assert.equal(second.result.exitCode, 0, JSON.stringify(second.results.filter((r) => r.status === "failed")));
  for (const [name, ds] of [["ds1", l.ds1], ["ds2", l.ds2]] as const) {
    assert.deepEqual(second.changed(name), ["lvsd.json", "reload lvsd"]);
    const ran = ds.log.slice(before[name]);
    assert.deepEqual(ran.filter((c) => c.startsWith("systemctl")), ["systemctl reload lvsd.service"]);
    assert.equal(JSON.parse(ds.file(JSON_PATH)!).services[0].realServers[0].weight, 3);
  }
});

test("deploy lvsd with a new bundle: uploaded, lvsd restarted as a crash would be (kill: it adopts its VIPs), no reload", async () => {
  const l = lab();
  await run(l);
  const before = l.ds1.log.length;
  const second = await run(l, { bundle: bundle({ version: "0.2.0" }) });
  assert.equal(second.result.exitCode, 0, JSON.stringify(second.results.filter((r) => r.status === "failed")));
  assert.deepEqual(second.changed("ds1"), ["lvsd bundle", "restart lvsd"]);
  const ran = l.ds1.log.slice(before);
  assert.deepEqual(ran.filter((c) => c.startsWith("systemctl")), ["systemctl kill --signal=SIGKILL lvsd.service"]);
  assert.match(l.ds1.file("/opt/lvsd/lvsd.cjs")!, /lvsd 0\.2\.0/);
  // Only the changed file went up.
  assert.deepEqual(l.ds1.conn.calls.filter((c) => c.kind === "put").map((c) => c.command), ["/opt/lvsd/lvsd.cjs"]);
});

test("a config lvsd --check rejects: the old lvsd.json stays, that director fails, the roll stops", async () => {
  const l = lab({ lvsdRejects: /"weight": 7/ });
  const b = bundle();
  await run(l, { bundle: b });
  const old = l.ds2.file(JSON_PATH);
  const yaml = labClusterYaml().replace("real_servers: [{ host: rs1 }, { host: rs2 }]", "real_servers: [{ host: rs1, weight: 7 }, { host: rs2 }]") + "director: { backend: lvsd }\n";
  const second = await run(l, { cluster: clusterFrom(yaml), bundle: b });
  assert.equal(second.result.exitCode, 2);
  const failed = second.results.filter((r) => r.status === "failed");
  assert.deepEqual(failed.map((r) => `${r.host} ${r.task}`), ["ds2 lvsd.json"]);
  assert.match(failed[0]!.reason, /lvsd: config: unsupported setting/);
  assert.equal(l.ds2.file(JSON_PATH), old, "the old config stays");
  assert.deepEqual(second.gates, [], "no gate after a failed director, and no next director");
});

test("switching from keepalived: per director, keepalived stopped and disabled right before lvsd starts; and back", async () => {
  const l = lab();
  // First keepalived (director.yml), then the same cluster with backend lvsd.
  const ka = await run(l, { cluster: clusterFrom(labClusterYaml()) });
  assert.equal(ka.result.exitCode, 0, JSON.stringify(ka.results.filter((r) => r.status === "failed")));
  assert.deepEqual(l.ds1.units["keepalived.service"], { enabled: "enabled", active: "active" });
  const before = { ds1: l.ds1.log.length, ds2: l.ds2.log.length };
  const sw = await run(l);
  assert.equal(sw.result.exitCode, 0, JSON.stringify(sw.results.filter((r) => r.status === "failed")));
  for (const [name, ds] of [["ds1", l.ds1], ["ds2", l.ds2]] as const) {
    const ran = ds.log.slice(before[name]).filter((c) => /^systemctl (start|stop|disable|enable)/.test(c));
    assert.deepEqual(ran, ["systemctl disable --quiet keepalived.service", "systemctl stop keepalived.service", "systemctl enable --quiet lvsd.service", "systemctl start lvsd.service"]);
    assert.deepEqual(ds.units["keepalived.service"], { enabled: "disabled", active: "inactive" });
    assert.deepEqual(ds.units["lvsd.service"], { enabled: "enabled", active: "active" });
  }
  // Per director: the switch, then the gate, then the next director.
  const seq = sw.events.flatMap((e) => (e.type === "task.result" && (e.task === "keepalived stopped and disabled" || e.task === "lvsd enabled and running") ? [`${e.task} ${e.host}`] : e.type === "gate.result" ? [`gate ${e.host}`] : []));
  assert.deepEqual(seq, ["keepalived stopped and disabled ds2", "lvsd enabled and running ds2", "gate ds2", "keepalived stopped and disabled ds1", "lvsd enabled and running ds1", "gate ds1"]);
  // And back: lvsd stopped and disabled right before keepalived starts.
  const mid = { ds1: l.ds1.log.length, ds2: l.ds2.log.length };
  const back = await run(l, { cluster: clusterFrom(labClusterYaml()) });
  assert.equal(back.result.exitCode, 0, JSON.stringify(back.results.filter((r) => r.status === "failed")));
  for (const [name, ds] of [["ds1", l.ds1], ["ds2", l.ds2]] as const) {
    const ran = ds.log.slice(mid[name]).filter((c) => /^systemctl (start|stop|disable|enable)/.test(c));
    assert.deepEqual(ran, ["systemctl disable --quiet lvsd.service", "systemctl stop lvsd.service", "systemctl enable --quiet keepalived.service", "systemctl start keepalived.service"]);
    assert.deepEqual(ds.units["lvsd.service"], { enabled: "disabled", active: "inactive" });
    assert.deepEqual(ds.units["keepalived.service"], { enabled: "enabled", active: "active" });
  }
});

test("a director whose Node is too old, or missing at director.lvsd.node: refused before any upload, naming the version and the option", async () => {
  const old = lab({ nodeVersion: "v12.22.12" });
  const r = await run(old);
  assert.equal(r.result.exitCode, 2);
  const failed = r.results.filter((x) => x.status === "failed");
  assert.deepEqual(failed.map((x) => `${x.host} ${x.task}`), ["ds2 lvsd bundle"]);
  assert.match(failed[0]!.reason, /lvsd needs Node 18 or newer; \/usr\/bin\/node on this director is 12\.22\.12/);
  assert.match(failed[0]!.reason, /director\.lvsd\.node/);
  assert.ok(!old.ds2.files.has("/opt/lvsd/lvsd.cjs"), "nothing uploaded");
  assert.deepEqual(r.gates, []);

  // Another runtime named by director.lvsd.node: used for the check and the unit; no nodejs package.
  const other = lab({ nodes: { "/opt/node/bin/node": "v20.11.1" } });
  const ok = await run(other, { cluster: lvsdCluster(", lvsd: { node: /opt/node/bin/node }") });
  assert.equal(ok.result.exitCode, 0, JSON.stringify(ok.results.filter((x) => x.status === "failed")));
  assert.equal(other.ds1.packages.nodejs, undefined, "the distribution's nodejs is not installed");
  assert.match(other.ds1.file(UNIT)!, /^ExecStart=\/opt\/node\/bin\/node \/opt\/lvsd\/lvsd\.cjs/m);
  assert.ok(other.ds1.log.some((c) => /^\/opt\/node\/bin\/node \/opt\/lvsd\/lvsd\.cjs --config \S+ --check$/.test(c)));

  const missing = lab();
  const m = await run(missing, { cluster: lvsdCluster(", lvsd: { node: /opt/node/bin/node }") });
  const mf = m.results.filter((x) => x.status === "failed");
  assert.deepEqual(mf.map((x) => `${x.host} ${x.task}`), ["ds2 lvsd bundle"]);
  assert.match(mf[0]!.reason, /lvsd needs a Node runtime at \/opt\/node\/bin\/node \(director\.lvsd\.node\)/);
});

test("a director of another architecture than the addon's: refused, naming both, before any upload", async () => {
  const l = lab({ arch: "aarch64" });
  const r = await run(l, { bundle: bundle({ machine: 62 }) });
  assert.equal(r.result.exitCode, 2);
  const failed = r.results.filter((x) => x.status === "failed");
  assert.deepEqual(failed.map((x) => `${x.host} ${x.task}`), ["ds2 lvsd bundle"]);
  assert.match(failed[0]!.reason, /built for x86_64 on this controller, but this director is aarch64/);
  assert.match(failed[0]!.reason, /directors need no compiler/);
  assert.ok(!l.ds2.files.has("/opt/lvsd/lvsd_socket.node"));
  // The same machine in another spelling is the same machine.
  const arm = lab({ arch: "aarch64" });
  const ok = await run(arm, { bundle: bundle({ machine: 183 }) });
  assert.equal(ok.result.exitCode, 0, JSON.stringify(ok.results.filter((x) => x.status === "failed")));
});

test("a bundle whose addon its lvsd would refuse (another ABI, no note, no manifest): deploy stops before any host is touched", async () => {
  for (const [opts, what] of [
    [{ addonAbi: ADDON_ABI_VERSION - 1 }, new RegExp(`lvsd_socket\\.node has ABI version ${ADDON_ABI_VERSION - 1}, and the bundle's lvsd expects ${ADDON_ABI_VERSION}: lvsd would refuse to load it at start and crash-loop`)],
    [{ addonAbi: null }, /lvsd_socket\.node carries no ABI version note/],
    [{ manifest: null }, /has no lvsd-bundle\.json/],
  ] as const) {
    const l = lab();
    const b = bundle(opts);
    await assert.rejects(
      () => run(l, { bundle: b }),
      (e: unknown) => e instanceof LvsctlError && e.code === "LVS759" && what.test(e.message) && e.message.includes(b) && /npm run build:native && node scripts\/build-lvsd\.mjs --outdir /.test(e.hint ?? ""),
    );
    for (const [name, h] of [["ds1", l.ds1], ["ds2", l.ds2], ["rs1", l.rs1]] as const) {
      assert.deepEqual(h.log, [], `${name}: nothing ran`);
      assert.equal(h.files.size, 0);
    }
  }
});

test("deploy lvsd --check on fresh directors: reports what it would do, changes nothing, no Node yet is a warning", async () => {
  const l = lab();
  const { result, changed, results } = await run(l, { check: true });
  assert.equal(result.exitCode, 0, JSON.stringify(results.filter((r) => r.status === "failed")));
  for (const t of ["nodejs package", "lvsd bundle", "lvsd.json", "lvsd unit", "lvsd enabled and running"]) assert.ok(changed("ds1").includes(t), `${t} would change`);
  const b = results.find((r) => r.host === "ds1" && r.task === "lvsd bundle")!;
  assert.equal(b.status, "changed");
  for (const ds of [l.ds1, l.ds2]) {
    assert.deepEqual(ds.log, [], "no command beyond the facts");
    assert.equal(ds.files.size, 0);
    assert.equal(ds.packages.nodejs, undefined);
  }
});
