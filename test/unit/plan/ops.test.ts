// Each planner: a change when facts differ, nothing when they match (idempotence).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  addressUnitContent,
  buildKey,
  buildOp,
  buildPaths,
  buildStamp,
  planAddress,
  planBuild,
  planCommand,
  planDefaultRoute,
  planFile,
  planFiles,
  planModules,
  parseModulesLoad,
  sysModulePath,
  planPackage,
  planService,
  planSysctl,
  planUploadDir,
  uploadDirOp,
  stateContent,
  sysctlFileContent,
  sysctlFromContent,
  parseSysctlConf,
  unitRestores,
  type Step,
} from "../../../src/plan/ops/index.js";
import { renderCommand } from "../../../src/ssh/types.js";
import { baseFacts, sha, withFile } from "../../fixtures/plan/facts.js";
import { argv } from "../../../src/command/index.js";

const ctx = { diff: true };
const show = (steps: Step[]) => steps.map((s) => (s.kind === "put" ? `put ${s.path}` : renderCommand(s.cmd)));

test("file: missing -> upload with owner, mode and validate; same content -> ok", () => {
  const d = { path: "/etc/keepalived/keepalived.conf", content: "global_defs {}\n", mode: 0o640, owner: "root", validate: ["keepalived", "-t", "-f", "%s"] };
  const p = planFile(baseFacts(), d, ctx);
  assert.equal(p.status, "change");
  assert.equal(p.reason, "file missing");
  assert.deepEqual(p.steps, [{ kind: "put", path: d.path, content: d.content, mode: 0o640, owner: "root", validate: ["keepalived", "-t", "-f", "%s"], describe: "upload /etc/keepalived/keepalived.conf (0640)" }]);
  assert.match(p.diff!, /^--- \/dev\/null\n\+\+\+ \/etc\/keepalived\/keepalived.conf\n@@ -0,0 \+1 @@\n\+global_defs \{\}\n$/);
  assert.equal(planFile(withFile(baseFacts(), d.path, d.content, 0o640), d, ctx).status, "ok");
});

test("file: content differs -> diff of old and new; only mode differs -> chmod, no upload", () => {
  const f = withFile(baseFacts(), "/etc/x", "a\nb\n");
  const p = planFile(f, { path: "/etc/x", content: "a\nc\n", mode: 0o644 }, ctx);
  assert.equal(p.reason, "sha256 differs");
  assert.match(p.diff!, /-b\n\+c\n/);
  const m = planFile(f, { path: "/etc/x", content: "a\nb\n", mode: 0o600 }, ctx);
  assert.deepEqual(show(m.steps), ["chmod 0600 -- /etc/x"]);
  const o = planFile(f, { path: "/etc/x", content: "a\nb\n", mode: 0o644, owner: "lvsd" }, ctx);
  assert.deepEqual(show(o.steps), ["chown -- lvsd:root /etc/x"]);
});

test("file: a secret file's diff never shows content", () => {
  const f = withFile(baseFacts(), "/etc/k.conf", "auth_pass oldpass\n");
  const p = planFile(f, { path: "/etc/k.conf", content: "auth_pass newpass\n", mode: 0o600, secret: true }, ctx);
  assert.doesNotMatch(p.diff!, /pass/);
  assert.match(p.diff!, /\*\*\*/);
});

test("files (render): only the files that differ are uploaded", () => {
  const f = withFile(baseFacts(), "/etc/a", "same\n");
  const p = planFiles(f, [{ path: "/etc/a", content: "same\n", mode: 0o644 }, { path: "/etc/b", content: "new\n", mode: 0o644 }], ctx);
  assert.deepEqual(show(p.steps), ["put /etc/b"]);
});

test("sysctl: live value and file are both compared", () => {
  const values = { "net.ipv4.conf.all.arp_ignore": 1, "net.ipv4.conf.all.arp_announce": 2 };
  const file = "/etc/sysctl.d/90-lvs-realserver.conf";
  const f0 = baseFacts({ sysctls: { "net.ipv4.conf.all.arp_ignore": "0", "net.ipv4.conf.all.arp_announce": "2" } });
  const p = planSysctl(f0, { values, file }, ctx);
  assert.deepEqual(show(p.steps), ["sysctl -q -w net.ipv4.conf.all.arp_ignore=1", `put ${file}`]);
  // live right, file missing: only the file
  const f1 = baseFacts({ sysctls: { "net.ipv4.conf.all.arp_ignore": "1", "net.ipv4.conf.all.arp_announce": "2" } });
  assert.deepEqual(show(planSysctl(f1, { values, file }, ctx).steps), [`put ${file}`]);
  // file right, live drifted: only sysctl -w
  const content = sysctlFileContent(values);
  const f2 = withFile({ ...f0 }, file, content);
  assert.deepEqual(show(planSysctl(f2, { values, file }, ctx).steps), ["sysctl -q -w net.ipv4.conf.all.arp_ignore=1"]);
  // both right
  assert.equal(planSysctl(withFile(f1, file, content), { values, file }, ctx).status, "ok");
  // whitespace-separated values compare normalised (tcp_rmem prints tabs)
  const f3 = withFile(baseFacts({ sysctls: { "net.ipv4.tcp_rmem": "4096 131072 6291456" } }), "/etc/sysctl.d/x.conf", sysctlFileContent({ "net.ipv4.tcp_rmem": "4096  131072 6291456" }));
  assert.equal(planSysctl(f3, { values: { "net.ipv4.tcp_rmem": "4096  131072 6291456" }, file: "/etc/sysctl.d/x.conf" }, ctx).status, "ok");
});

test("sysctl: an unknown key fails planning with a hint", () => {
  assert.throws(() => planSysctl(baseFacts(), { values: { "net.ipv4.conf.eth9.arp_ignore": 1 }, file: "/etc/sysctl.d/x.conf" }, ctx), /does not exist on this host/);
});

test("sysctl with given content: the file is written as given, the live values are read from it", () => {
  const file = "/etc/sysctl.d/90-lvs-realserver.conf";
  const content = "# rendered\n; also a comment\nnet.ipv4.conf.all.arp_ignore = 1\n  net.ipv4.conf.eth0/100.arp_ignore=1\n-net.ipv4.conf.tunl0.rp_filter = 0\n\nnet.ipv4.conf.all.arp_ignore = 1\n";
  assert.deepEqual(parseSysctlConf(content), {
    values: { "net.ipv4.conf.all.arp_ignore": "1", "net.ipv4.conf.eth0/100.arp_ignore": "1", "net.ipv4.conf.tunl0.rp_filter": "0" },
    optional: ["net.ipv4.conf.tunl0.rp_filter"],
  });
  assert.throws(() => parseSysctlConf("net.ipv4.ip_forward 1\n"), /has no "="/);
  const d = sysctlFromContent(file, content);
  // tunl0 does not exist yet: skipped live ("-"), not an error; the file is the given bytes.
  const f0 = baseFacts({ sysctls: { "net.ipv4.conf.all.arp_ignore": "0", "net.ipv4.conf.eth0/100.arp_ignore": "0" } });
  const p = planSysctl(f0, d, ctx);
  assert.deepEqual(show(p.steps), ["sysctl -q -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.eth0/100.arp_ignore=1", `put ${file}`]);
  const put = p.steps.find((s) => s.kind === "put");
  assert.ok(put && put.kind === "put" && put.content === content);
  // once tunl0 exists its value is compared like any other
  const f1 = withFile(baseFacts({ sysctls: { "net.ipv4.conf.all.arp_ignore": "1", "net.ipv4.conf.eth0/100.arp_ignore": "1", "net.ipv4.conf.tunl0.rp_filter": "1" } }), file, content);
  assert.deepEqual(show(planSysctl(f1, d, ctx).steps), ["sysctl -q -w net.ipv4.conf.tunl0.rp_filter=0"]);
  assert.equal(planSysctl({ ...f1, sysctls: { ...f1.sysctls, "net.ipv4.conf.tunl0.rp_filter": "0" } }, d, ctx).status, "ok");
  // a key without "-" that does not exist still fails
  assert.throws(() => planSysctl(baseFacts(), sysctlFromContent(file, "net.ipv4.conf.eth9.arp_ignore = 1\n"), ctx), /does not exist on this host/);
});

const vipUnit = { unit: "lvs-rs-vip.service", addresses: [{ address: "10.0.0.100", prefix: 32, dev: "lo" }] };

test("address: a new VIP is recorded first, added live, persisted by a unit that is enabled and started", () => {
  const p = planAddress(baseFacts({ exists: ["/var/lib/lvsctl"] }), vipUnit, ctx);
  assert.deepEqual(show(p.steps), [
    "put /var/lib/lvsctl/state.json",
    "/sbin/ip addr replace 10.0.0.100/32 dev lo",
    "put /etc/systemd/system/lvs-rs-vip.service",
    // a unit systemd never loaded needs no daemon-reload (loaded on demand); old systemd: fallback
    "sh -c 'systemctl enable --no-reload --now --quiet lvs-rs-vip.service || { systemctl daemon-reload && systemctl enable --now --quiet lvs-rs-vip.service; }'",
  ]);
  assert.match(p.reason, /add 10\.0\.0\.100\/32 on lo/);
});

test("address: everything in place -> ok; a VIP no longer wanted is removed (and only one lvsctl added)", () => {
  const state = stateContent({ version: 1, addresses: { "lvs-rs-vip.service": ["10.0.0.100/32 dev lo", "10.0.0.101/32 dev lo"] } });
  let f = baseFacts({
    exists: ["/var/lib/lvsctl"],
    addresses: [
      ...baseFacts().addresses,
      { dev: "lo", family: "inet", address: "10.0.0.100", prefix: 32, scope: "global" },
      { dev: "lo", family: "inet", address: "10.0.0.101", prefix: 32, scope: "global" },
      { dev: "lo", family: "inet", address: "10.0.0.199", prefix: 32, scope: "global" },
    ],
    units: { "lvs-rs-vip.service": { enabled: "enabled", active: "active" } },
  });
  f = withFile(f, "/var/lib/lvsctl/state.json", state);
  f = withFile(f, "/etc/systemd/system/lvs-rs-vip.service", addressUnitContent({ ...vipUnit, addresses: [...vipUnit.addresses, { address: "10.0.0.101", prefix: 32, dev: "lo" }] }));
  const p = planAddress(f, vipUnit, ctx);
  assert.deepEqual(show(p.steps), [
    "/sbin/ip addr del 10.0.0.101/32 dev lo",
    "put /etc/systemd/system/lvs-rs-vip.service",
    "systemctl daemon-reload",
    "put /var/lib/lvsctl/state.json",
  ]);
  assert.ok(!show(p.steps).some((s) => s.includes("10.0.0.199")), "an address lvsctl did not add stays");
  // after that run the facts match: ok
  let g = { ...f, addresses: f.addresses.filter((a) => a.address !== "10.0.0.101") };
  g = withFile(g, "/var/lib/lvsctl/state.json", stateContent({ version: 1, addresses: { "lvs-rs-vip.service": ["10.0.0.100/32 dev lo"] } }));
  g = withFile(g, "/etc/systemd/system/lvs-rs-vip.service", addressUnitContent(vipUnit));
  assert.equal(planAddress(g, vipUnit, ctx).status, "ok");
});

test("address: the unit orders itself before the listed services and restores every VIP", () => {
  const u = addressUnitContent({ ...vipUnit, before: ["nginx.service"] });
  assert.match(u, /^Before=network-online\.target nginx\.service$/m);
  assert.match(u, /^ExecStart=\/sbin\/ip addr replace 10\.0\.0\.100\/32 dev lo$/m);
  assert.match(u, /^ExecStop=-\/sbin\/ip addr del 10\.0\.0\.100\/32 dev lo$/m);
  assert.match(u, /^WantedBy=multi-user\.target$/m);
});

test("package: only missing packages, with the host's manager", () => {
  assert.deepEqual(show(planPackage(baseFacts({ packages: { ipvsadm: "1:1.31-1" } }), { names: ["ipvsadm", "keepalived"] }).steps), [
    "env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -- keepalived",
  ]);
  assert.deepEqual(show(planPackage(baseFacts({ packageManager: "dnf" }), { names: ["keepalived"] }).steps), ["dnf install -y -q -- keepalived"]);
  assert.equal(planPackage(baseFacts({ packages: { keepalived: "1:2.2.7-1" } }), { names: ["keepalived"] }).status, "ok");
  assert.throws(() => planPackage(baseFacts({ packageManager: "none" }), { names: ["x"] }), /no supported package manager/);
});

test("service: install unit (daemon-reload only then), enable, start; restart only when asked (handlers)", () => {
  const d = { name: "lvsd", unitContent: "[Unit]\n", enabled: true, state: "started" as const };
  assert.deepEqual(show(planService(baseFacts(), d, ctx).steps), [
    "put /etc/systemd/system/lvsd.service",
    "systemctl enable --quiet lvsd.service", // enable reloads systemd itself
    "systemctl start lvsd.service",
  ]);
  // an enabled service whose unit file changed: one daemon-reload
  const enabled = baseFacts({ units: { "lvsd.service": { enabled: "enabled", active: "active" } } });
  assert.deepEqual(show(planService(enabled, d, ctx).steps), ["put /etc/systemd/system/lvsd.service", "systemctl daemon-reload"]);
  const running = withFile(baseFacts({ units: { "lvsd.service": { enabled: "enabled", active: "active" } } }), "/etc/systemd/system/lvsd.service", "[Unit]\n");
  assert.equal(planService(running, d, ctx).status, "ok");
  assert.deepEqual(show(planService(running, { name: "lvsd", state: "restarted" }, ctx).steps), ["systemctl restart lvsd.service"]);
  assert.deepEqual(show(planService(running, { name: "lvsd", state: "reloaded" }, ctx).steps), ["systemctl reload lvsd.service"]);
  assert.deepEqual(show(planService(baseFacts(), { name: "lvsd", state: "reloaded" }, ctx).steps), ["systemctl start lvsd.service"]);
});

test("command: creates / unless guards; no guard always runs", () => {
  assert.equal(planCommand(baseFacts({ exists: ["/opt/x"] }), { cmd: argv("make"), creates: "/opt/x" }).status, "ok");
  assert.equal(planCommand(baseFacts(), { cmd: argv("make"), creates: "/opt/x" }).status, "change");
  assert.equal(planCommand(baseFacts({ guards: { "test -e /a": 0 } }), { cmd: argv("x"), unless: argv("test", "-e", "/a") }).status, "ok");
  assert.equal(planCommand(baseFacts({ guards: { "test -e /a": 1 } }), { cmd: argv("x"), unless: argv("test", "-e", "/a") }).status, "change");
  assert.equal(planCommand(baseFacts(), { cmd: argv("x") }).reason, "no guard: always runs");
});

test("upload_dir: only changed files; purge removes extras", () => {
  const files = [
    { rel: "lvsd.js", content: "js1", mode: 0o644 },
    { rel: "native/lvsd.node", content: "bin", mode: 0o755 },
  ];
  const f = baseFacts({ manifests: { "/opt/lvsd": { "lvsd.js": sha("js0"), "native/lvsd.node": sha("bin"), "old.js": sha("x") } } });
  assert.deepEqual(show(planUploadDir(f, { dest: "/opt/lvsd", files, purge: true }).steps), ["put /opt/lvsd/lvsd.js", "rm -f -- /opt/lvsd/old.js"]);
  const fresh = planUploadDir(baseFacts(), { dest: "/opt/lvsd", files });
  assert.deepEqual(show(fresh.steps), ["mkdir -p /opt/lvsd", "put /opt/lvsd/lvsd.js", "mkdir -p /opt/lvsd/native", "put /opt/lvsd/native/lvsd.node"]);
  const same = baseFacts({ manifests: { "/opt/lvsd": { "lvsd.js": sha("js1"), "native/lvsd.node": sha("bin") } } });
  assert.equal(planUploadDir(same, { dest: "/opt/lvsd", files }).status, "ok");
});

test("upload_dir: dest / puts top-level files at /x with no mkdir of the root, nested ones under their own directory", () => {
  const files = [
    { rel: "x", content: "1", mode: 0o644 },
    { rel: "a/b/y", content: "2", mode: 0o644 },
  ];
  for (const dest of ["/", "//"]) {
    assert.deepEqual(show(planUploadDir(baseFacts(), { dest, files }).steps), ["mkdir -p /a/b", "put /a/b/y", "put /x"], dest);
  }
  // The manifest of / is keyed "/", as the fact gatherer reports it; an unchanged file plans nothing.
  const same = baseFacts({ manifests: { "/": { x: sha("1"), "a/b/y": sha("2") } } });
  assert.equal(planUploadDir(same, { dest: "/", files }).status, "ok");
  assert.deepEqual(uploadDirOp.needs({ dest: "/", files }, ctx).manifests, ["/"]);
  assert.throws(() => planUploadDir(baseFacts(), { dest: "/", files, purge: true }), /purge with dest \/ would remove every file/);
});

test("upload_dir: a trailing slash on dest changes nothing: same paths, same manifest key, one mkdir per new directory", () => {
  const files = [
    { rel: "top", content: "t", mode: 0o644 },
    { rel: "lib/one.js", content: "1", mode: 0o644 },
    { rel: "lib/two.js", content: "2", mode: 0o644 },
    { rel: "lib/deep/three.js", content: "3", mode: 0o644 },
  ];
  for (const dest of ["/opt/x", "/opt/x/", "/opt/x//"]) {
    assert.deepEqual(
      show(planUploadDir(baseFacts(), { dest, files }).steps),
      ["mkdir -p /opt/x/lib/deep", "put /opt/x/lib/deep/three.js", "mkdir -p /opt/x/lib", "put /opt/x/lib/one.js", "put /opt/x/lib/two.js", "mkdir -p /opt/x", "put /opt/x/top"],
      dest,
    );
    assert.deepEqual(uploadDirOp.needs({ dest, files }, ctx).manifests, ["/opt/x"], dest);
  }
  // With the tree in place, only the changed file goes up, no mkdir, and purge removes under /opt/x/ (not //).
  const have = baseFacts({ manifests: { "/opt/x": { top: sha("t"), "lib/one.js": sha("old"), "lib/two.js": sha("2"), "lib/deep/three.js": sha("3"), "gone.js": sha("g") } } });
  assert.deepEqual(show(planUploadDir(have, { dest: "/opt/x/", files, purge: true }).steps), ["put /opt/x/lib/one.js", "rm -f -- /opt/x/gone.js"]);
});

test("build: a directory per version and options, configured with --prefix there and the shared --sysconfdir, then the link flips", () => {
  const d = { name: "keepalived", version: "2.2.7", tarball: Buffer.from("tgz"), prefix: "/usr/local/", sysconfdir: "/etc", configureOptions: ["--disable-dynamic-linking"] };
  const key = buildKey(d);
  assert.match(key, /^[0-9a-f]{12}$/);
  const dir = `/usr/local/keepalived-2.2.7-${key}`;
  assert.deepEqual(buildPaths(d), { dirName: `keepalived-2.2.7-${key}`, dir, link: "/usr/local/keepalived", stamp: `${dir}/.lvsctl-build`, workdir: "/usr/local/src/lvsctl-keepalived" });
  assert.deepEqual(buildOp.needs(d, { diff: false }), { contents: [`${dir}/.lvsctl-build`, "/usr/local/keepalived/.lvsctl-build"], symlinks: ["/usr/local/keepalived"], exists: ["/usr/local/keepalived"] });
  const p = planBuild(baseFacts(), d);
  assert.equal(p.status, "change");
  assert.match(p.reason, /building keepalived-2\.2\.7-[0-9a-f]{12}; no active build/);
  assert.deepEqual(p.steps.map((s) => s.describe).slice(3), [
    `./configure --prefix=${dir} --sysconfdir=/etc --disable-dynamic-linking`,
    "make -j$(nproc)",
    "make install",
    `stamp ${dir}/.lvsctl-build`,
    `ln -sfn keepalived-2.2.7-${key} /usr/local/keepalived.lvsctl-tmp`,
    `make keepalived-2.2.7-${key} the active build (/usr/local/keepalived)`,
    `remove older keepalived builds than keepalived-2.2.7-${key}`,
  ]);
  // The stamp says what the directory was built from; the link is relative, flipped by rename.
  const stamp = p.steps.find((s) => s.kind === "put" && s.path.endsWith(".lvsctl-build"));
  assert.deepEqual(JSON.parse(String(stamp!.kind === "put" && stamp!.content)), { name: "keepalived", version: "2.2.7", sysconfdir: "/etc", configureOptions: ["--disable-dynamic-linking"], tarballSha256: sha("tgz"), key });
  const argvs = p.steps.slice(-3, -1).map((s) => (s.kind === "exec" && "argv" in s.cmd ? s.cmd.argv : []));
  assert.deepEqual(argvs, [["ln", "-sfn", `keepalived-2.2.7-${key}`, "/usr/local/keepalived.lvsctl-tmp"], ["mv", "-Tf", "/usr/local/keepalived.lvsctl-tmp", "/usr/local/keepalived"]]);
});

test("build: built and active is no change; built but not active is a flip without a rebuild (a rollback); other inputs build beside", () => {
  const a = { name: "keepalived", version: "2.2.7", tarball: Buffer.from("tgz"), prefix: "/usr/local", sysconfdir: "/etc", configureOptions: [] as string[] };
  const b = { ...a, configureOptions: ["--disable-lvs"] };
  const pa = buildPaths(a);
  const pb = buildPaths(b);
  assert.notEqual(pa.dir, pb.dir, "other options, another directory");
  assert.equal(buildPaths({ ...a, tarball: Buffer.from("other") }).dir === pa.dir, false, "another tarball, another directory");
  assert.equal(buildPaths({ ...a, version: "2.2.8" }).dirName.startsWith("keepalived-2.2.8-"), true);
  assert.equal(buildPaths({ ...a, sysconfdir: "/etc/ka" }).dir === pa.dir, false);
  const stampOf = (d: typeof a) => Buffer.from(JSON.stringify(buildStamp(d)) + "\n");
  // a built and active: nothing to do.
  const aActive = baseFacts({ symlinks: { [pa.link]: pa.dirName }, exists: [pa.link], contents: { [pa.stamp]: stampOf(a), [`${pa.link}/.lvsctl-build`]: stampOf(a) } });
  const okPlan = planBuild(aActive, a);
  assert.equal(okPlan.status, "ok");
  assert.match(okPlan.reason, /built with these options and active/);
  // b wanted, never built: a full build, and the reason says what changed against the active build.
  const toB = planBuild(aActive, b);
  assert.equal(toB.status, "change");
  assert.match(toB.reason, /configure options \[\] -> \[--disable-lvs\] \(active: keepalived-2\.2\.7-/);
  assert.ok(toB.steps.some((s) => s.describe === "make install"));
  // both built, b active: going back to a is a flip only.
  const bActive = baseFacts({ symlinks: { [pa.link]: pb.dirName }, exists: [pa.link], contents: { [pa.stamp]: stampOf(a), [pb.stamp]: stampOf(b), [`${pa.link}/.lvsctl-build`]: stampOf(b) } });
  const back = planBuild(bActive, a);
  assert.equal(back.status, "change");
  assert.match(back.reason, /is built already: no rebuild, only the link flips; configure options \[--disable-lvs\] -> \[\]/);
  assert.deepEqual(back.steps.map((s) => s.describe), [`ln -sfn ${pa.dirName} /usr/local/keepalived.lvsctl-tmp`, `make ${pa.dirName} the active build (/usr/local/keepalived)`, `remove older keepalived builds than ${pa.dirName} and ${pb.dirName}`]);
  assert.match(back.reason, new RegExp(`; ${pb.dirName} stays as the rollback target, older builds are removed$`));
  // An absolute link to the same directory counts as active too.
  assert.equal(planBuild(baseFacts({ symlinks: { [pa.link]: pa.dir }, exists: [pa.link], contents: { [pa.stamp]: stampOf(a) } }), a).status, "ok");
  // A half-built directory (no stamp) is built again from nothing.
  const half = planBuild(baseFacts({ symlinks: { [pa.link]: pb.dirName }, exists: [pa.link] }), a);
  assert.equal(half.steps[0]!.describe, `prepare /usr/local/src/lvsctl-keepalived, clear ${pa.dir}`);
  // Something that is not a symlink at the link's path is not overwritten.
  assert.throws(() => planBuild(baseFacts({ exists: [pa.link] }), a), (e: Error & { hint?: string }) => /\/usr\/local\/keepalived exists and is not a symlink/.test(e.message) && /move \/usr\/local\/keepalived away/.test(e.hint ?? ""));
});

test("address with a given unit: written as given, refused when it would not restore a wanted address", () => {
  const unitContent = "[Service]\nType=oneshot\nExecStart=/sbin/ip addr replace 10.0.0.100/32 dev lo\nExecStop=-/sbin/ip addr del 10.0.0.100/32 dev lo\n";
  const p = planAddress(baseFacts({ exists: ["/var/lib/lvsctl"] }), { ...vipUnit, unitContent }, ctx);
  const put = p.steps.find((s) => s.kind === "put" && s.path.endsWith("lvs-rs-vip.service"));
  assert.ok(put && put.kind === "put" && put.content === unitContent);
  assert.ok(unitRestores(unitContent, { address: "10.0.0.100", prefix: 32, dev: "lo" }));
  assert.ok(!unitRestores(unitContent, { address: "10.0.0.10", prefix: 32, dev: "lo" }), "a prefix of another address is not it");
  assert.ok(!unitRestores(unitContent, { address: "10.0.0.100", prefix: 24, dev: "lo" }));
  assert.ok(unitRestores("ExecStart=/sbin/ip addr replace FD00::1/128 dev lo nodad\n", { address: "fd00::1", prefix: 128, dev: "lo" }));
  assert.throws(() => planAddress(baseFacts(), { ...vipUnit, unitContent: "[Service]\nExecStart=/bin/true\n" }, ctx), /would not put back 10\.0\.0\.100\/32 dev lo on boot/);
  assert.throws(() => planAddress(baseFacts(), { ...vipUnit, unitContent: null }, ctx), /no lvs-rs-vip\.service to put them back/);
});

test("address with no unit wanted: the last VIP goes, then the unit is stopped, disabled and removed; then nothing", () => {
  const unitPath = "/etc/systemd/system/lvs-rs-vip.service";
  let f = baseFacts({
    exists: ["/var/lib/lvsctl"],
    addresses: [...baseFacts().addresses, { dev: "lo", family: "inet", address: "10.0.0.100", prefix: 32, scope: "global" }],
    units: { "lvs-rs-vip.service": { enabled: "enabled", active: "active" } },
  });
  f = withFile(f, "/var/lib/lvsctl/state.json", stateContent({ version: 1, addresses: { "lvs-rs-vip.service": ["10.0.0.100/32 dev lo"] } }));
  f = withFile(f, unitPath, addressUnitContent(vipUnit));
  const p = planAddress(f, { unit: "lvs-rs-vip.service", addresses: [], unitContent: null }, ctx);
  assert.deepEqual(show(p.steps), [
    "/sbin/ip addr del 10.0.0.100/32 dev lo",
    "systemctl disable --now --quiet lvs-rs-vip.service",
    `rm -f ${unitPath}`,
    "systemctl daemon-reload",
    "put /var/lib/lvsctl/state.json",
  ]);
  assert.match(p.diff!, /^-ExecStart=\/sbin\/ip addr replace 10\.0\.0\.100\/32 dev lo$/m);
  const after = withFile({ ...baseFacts({ exists: ["/var/lib/lvsctl"] }) }, "/var/lib/lvsctl/state.json", stateContent({ version: 1, addresses: {} }));
  assert.equal(planAddress(after, { unit: "lvs-rs-vip.service", addresses: [], unitContent: null }, ctx).status, "ok");
});

test("default_route: ok via a director, warning otherwise", () => {
  assert.equal(planDefaultRoute(baseFacts({ defaultRoutes: [{ to: "default", via: "10.0.0.100", dev: "eth0" }] }), { via: ["10.0.0.100"] }).warnings, undefined);
  const w = planDefaultRoute(baseFacts(), { via: ["10.0.0.11", "10.0.0.100"], purpose: "NAT web" });
  assert.equal(w.status, "ok");
  assert.match(w.warnings![0]!, /NAT web: the default route is default via 10\.0\.0\.1 dev eth0, not via a director \(10\.0\.0\.11, 10\.0\.0\.100\)/);
});

test("default_route with a gateway: the preferred route is the one with the lowest metric; metric-0 via the gateway is no change", () => {
  const unit = "[Service]\nExecStart=/sbin/ip route replace default via 10.0.0.254\n";
  const d = { via: [], unit: "lvs-rs-gateway.service", gateway: "10.0.0.254", unitContent: unit };
  const state = JSON.stringify({ version: 1, gateway: "10.0.0.254", previous: { via: "10.0.0.1", dev: "eth0" } });
  const done = withFile(withFile(baseFacts({
    exists: ["/var/lib/lvsctl"],
    defaultRoutes: [{ to: "default", via: "10.0.0.1", dev: "eth0", metric: 1024 }, { to: "default", via: "10.0.0.254", dev: "eth0" }],
    units: { "lvs-rs-gateway.service": { enabled: "enabled", active: "inactive" } },
  }), "/etc/systemd/system/lvs-rs-gateway.service", unit), "/var/lib/lvsctl/gateway.json", state);
  assert.equal(planDefaultRoute(done, d, ctx).status, "ok");
  // The DHCP route wins (lower metric): replaced, the record kept as it is (the first route lvsctl replaced).
  const other = { ...done, defaultRoutes: [{ to: "default", via: "10.0.0.1", dev: "eth0" }, { to: "default", via: "10.0.0.254", dev: "eth0", metric: 50 }] };
  const p = planDefaultRoute(other, d, ctx);
  assert.deepEqual(p.steps.map((s) => (s.kind === "exec" ? renderCommand(s.cmd) : s.path)), ["/sbin/ip route replace default via 10.0.0.254"]);
  assert.throws(() => planDefaultRoute(done, { ...d, unitContent: "[Service]\n" }, ctx), /would not route through 10\.0\.0\.254/);
  assert.throws(() => planDefaultRoute(done, { ...d, unitContent: null }, ctx), /no lvs-rs-gateway\.service/);
});

test("default_route without a gateway: nothing recorded and no NAT service is ok; IPv6 gateways use ip -6", () => {
  assert.equal(planDefaultRoute(baseFacts(), { via: [], unit: "lvs-rs-gateway.service", gateway: "" }, ctx).reason, "no NAT service");
  const v6 = planDefaultRoute(baseFacts({ exists: ["/var/lib/lvsctl"] }), { via: [], unit: "lvs-rs-gateway.service", gateway: "fd00::1", unitContent: "ExecStart=/sbin/ip -6 route replace default via fd00::1\n" }, ctx);
  assert.ok(v6.steps.some((s) => s.kind === "exec" && renderCommand(s.cmd) === "/sbin/ip -6 route replace default via fd00::1"));
});

test("address: a host that never had addresses and wants none gets no unit", () => {
  const p = planAddress(baseFacts(), { unit: "lvs-rs-vip.service", addresses: [] }, ctx);
  assert.equal(p.status, "ok");
  assert.equal(p.reason, "no addresses wanted");
});

test("address: several live changes go in one `ip -batch -` round trip", () => {
  const state = stateContent({ version: 1, addresses: { "lvs-rs-vip.service": ["10.0.0.100/32 dev lo"] } });
  const f = withFile(
    baseFacts({ exists: ["/var/lib/lvsctl"], addresses: [...baseFacts().addresses, { dev: "lo", family: "inet", address: "10.0.0.100", prefix: 32, scope: "global" }] }),
    "/var/lib/lvsctl/state.json",
    state,
  );
  const p = planAddress(f, { unit: "lvs-rs-vip.service", addresses: [{ address: "10.0.0.150", prefix: 32, dev: "lo" }, { address: "fd00::150", prefix: 128, dev: "lo" }] }, ctx);
  const batch = p.steps.find((s) => s.kind === "exec" && "argv" in s.cmd && s.cmd.argv.includes("-batch"));
  assert.ok(batch && batch.kind === "exec");
  assert.equal(batch.stdin, "addr replace 10.0.0.150/32 dev lo\naddr replace fd00::150/128 dev lo\naddr del 10.0.0.100/32 dev lo\n");
  assert.equal(p.steps.filter((s) => s.kind === "exec" && "argv" in s.cmd && s.cmd.argv[0] === "/sbin/ip").length, 1);
});

test("modules: missing modules loaded in one modprobe, the boot file written; all loaded and the file in place -> ok", () => {
  const d = { names: ["ip_vs", "ip_vs_wrr"], file: "/etc/modules-load.d/lvs.conf", content: "# x\nip_vs\nip_vs_wrr\n" };
  const loadedVs = { ...baseFacts(), exists: ["/sys/module/ip_vs"] };
  const p = planModules(loadedVs, d, ctx);
  assert.equal(p.status, "change");
  assert.equal(p.reason, "load ip_vs_wrr; /etc/modules-load.d/lvs.conf file missing");
  assert.deepEqual(show(p.steps), ["/sbin/modprobe -a -- ip_vs_wrr", "put /etc/modules-load.d/lvs.conf"]);
  // A kernel without IPVS (a container's host, a minimal kernel) fails here: the error says so.
  const probe = p.steps[0]!;
  assert.ok(probe.kind === "exec" && /this kernel does not ship it/.test(probe.failHint ?? ""));
  const done = withFile({ ...baseFacts(), exists: ["/sys/module/ip_vs", "/sys/module/ip_vs_wrr"] }, d.file, d.content, 0o644);
  assert.equal(planModules(done, d, ctx).status, "ok");
  // The kernel names a module with _ where modprobe takes - as well.
  assert.equal(sysModulePath("nf-conntrack"), "/sys/module/nf_conntrack");
  assert.throws(() => planModules(baseFacts(), { ...d, names: ["-r"] }, ctx), /not a kernel module name/);
  assert.deepEqual(parseModulesLoad("# c\n; c\n\nip_vs\n ip_vs_sh \n"), ["ip_vs", "ip_vs_sh"]);
});
