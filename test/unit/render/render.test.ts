// Behaviour of the renderers beyond the golden files: what keepalived would warn about is never
// written, secrets are flagged and maskable, errors name what is wrong.
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { NEW_FILE, showArgv } from "../../../src/command/index.js";
import { putFileScript, PutExit } from "../../../src/ssh/put-file.js";
import { test } from "node:test";
import { LvsctlError } from "../../../src/errors/index.js";
import type { Cluster, DirectorVrrpInstance } from "../../../src/inventory/model.js";
import { findTemplatesDir, kaQuote, templatesDir } from "../../../src/render/handlebars.js";
import { statusCodeRanges } from "../../../src/render/common.js";
import { renderDirectorModules } from "../../../src/render/hostfiles.js";
import {
  PATHS,
  maskSecrets,
  maskedSecret,
  renderAll,
  renderDirector,
  renderHost,
  renderKeepalivedConf,
  renderRealServer,
  secretValues,
  splitScript,
  toLvsdConfig,
} from "../../../src/render/index.js";
import { repoRoot } from "../../fixtures/render/cases.js";
import { dr } from "../../fixtures/render/dr.js";
import { fwmark } from "../../fixtures/render/fwmark.js";
import { fakeSecret } from "../../fixtures/render/index.js";
import { nat } from "../../fixtures/render/nat.js";

const opts = { resolveSecret: fakeSecret };

function withInstance(c: Cluster, patch: Partial<DirectorVrrpInstance>): Cluster {
  return { ...c, directors: c.directors.map((d) => ({ ...d, instances: d.instances.map((i) => ({ ...i, ...patch })) })) };
}

function throwsCode(fn: () => unknown, code: string, re?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof LvsctlError, `expected LvsctlError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (re) assert.match(e.message, re);
    assert.ok(e.hint, "errors carry a hint");
    return true;
  });
}

test("templates are found from src (tsx) and from dist/src/render (tsc output)", () => {
  assert.equal(templatesDir, join(repoRoot, "templates"));
  assert.equal(findTemplatesDir(join(repoRoot, "dist/src/render")), join(repoRoot, "templates"));
});

test("director files by backend: paths, modes, validate, secret flag", () => {
  const k = renderDirector(dr, "lb1", { ...opts, backend: "keepalived" });
  assert.deepEqual(
    k.map((f) => [f.path, f.mode, f.validate, f.secret]),
    [
      ["/etc/keepalived/keepalived.conf", 0o600, ["/usr/sbin/keepalived", "-t", "-f", "%s"], true],
      ["/etc/systemd/system/keepalived.service", 0o644, undefined, undefined],
      ["/etc/sysctl.d/90-lvs-director.conf", 0o644, undefined, undefined],
      ["/etc/modules-load.d/lvs.conf", 0o644, undefined, undefined],
    ],
  );
  const l = renderDirector(dr, "lb1", { ...opts, backend: "lvsd" });
  assert.deepEqual(l.map((f) => f.path).slice(0, 2), ["/etc/lvsd/lvsd.json", "/etc/systemd/system/lvsd.service"]);
  assert.equal(l[0]!.secret, true);
  assert.deepEqual(l[0]!.validate, ["/usr/bin/node", "/opt/lvsd/lvsd.cjs", "--config", "%s", "--check"]);
  // Without a backend option the cluster's own backend is used.
  assert.equal(renderDirector(fwmark, "lvs1", opts)[0]!.path, "/etc/lvsd/lvsd.json");
  assert.equal(renderDirector(dr, "lb1", opts)[0]!.path, "/etc/keepalived/keepalived.conf");
});

test("a prefix or install_dir holding shell syntax: the renderers refuse it (LVS707), and the validate argv keeps it one word (issue 8)", () => {
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-prefix-"));
  try {
    const marker = join(dir, "pwned");
    // validate refuses these (LVS124); a model built without it reaches the renderers' guard.
    const hostile = { ...nat, keepalived: { ...nat.keepalived, prefix: `/usr;touch ${marker};/usr` }, lvsd: { ...nat.lvsd, installDir: `/opt/x;touch ${marker};` } };
    throwsCode(() => renderDirector(hostile, "dir-a", { ...opts, backend: "keepalived" }), "LVS707", /director\.keepalived\.prefix\) into a systemd unit: it holds ";"/);
    throwsCode(() => renderDirector(hostile, "dir-a", { ...opts, backend: "lvsd" }), "LVS707", /director\.lvsd\.install_dir into a systemd unit: it holds ";"/);
    // Past both, the upload would still run the argv as words: the word names no program, nothing else runs.
    const argvs = [
      [`/usr;touch ${marker};/usr/sbin/keepalived`, "-t", "-f", NEW_FILE],
      [PATHS.node, `/opt/x;touch ${marker};/lvsd.cjs`, "--config", NEW_FILE, "--check"],
    ];
    for (const validate of argvs) {
      const path = join(dir, "target.conf");
      const r = spawnSync("/bin/sh", ["-c", putFileScript({ path, size: 2, mode: 0o644, token: "t1", validate }).shell], { input: "x\n" });
      assert.equal(r.status, PutExit.Validate, r.stderr.toString());
      assert.ok(!existsSync(marker), `touch ran from ${showArgv(validate)}`);
      assert.ok(!existsSync(path));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a keepalived built from source: its prefix and sysconfdir, a forking unit", () => {
  const [conf, unit] = renderDirector(nat, "dir-a", opts);
  assert.equal(conf!.path, "/opt/keepalived/etc/keepalived/keepalived.conf");
  assert.deepEqual(conf!.validate, ["/opt/keepalived/keepalived/sbin/keepalived", "-t", "-f", "%s"]);
  assert.equal(conf!.secret, false);
  assert.match(unit!.content, /^Type=forking$/m);
  assert.match(unit!.content, /^ExecStart=\/opt\/keepalived\/keepalived\/sbin\/keepalived -f \/opt\/keepalived\/etc\/keepalived\/keepalived\.conf -p \/run\/keepalived\.pid$/m);
  const pkg = renderDirector(dr, "lb1", opts)[1]!.content;
  assert.match(pkg, /^Type=notify$/m);
  assert.match(pkg, /^ExecStart=\/usr\/sbin\/keepalived --dont-fork -f \/etc\/keepalived\/keepalived\.conf \$DAEMON_ARGS$/m);
  assert.match(pkg, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
});

test("lvsd unit: restart on failure, reload by HUP, the bundle and config paths", () => {
  const unit = renderDirector(dr, "lb1", { ...opts, backend: "lvsd" })[1]!.content;
  assert.match(unit, /^Restart=on-failure$/m);
  assert.match(unit, /^RestartSec=0$/m);
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.match(unit, /^ExecStart=\/usr\/bin\/node \/opt\/lvsd\/lvsd\.cjs --config \/etc\/lvsd\/lvsd\.json$/m);
});

test("director sysctls: ip_forward only with NAT, IPVS keys tolerate a missing ip_vs, overrides apply", () => {
  const drSys = renderDirector(dr, "lb1", opts)[2]!.content;
  assert.doesNotMatch(drSys, /ip_forward/);
  assert.match(drSys, /^-net\.ipv4\.vs\.expire_nodest_conn = 1$/m);
  const natSys = renderDirector(nat, "dir-a", opts)[2]!.content;
  assert.match(natSys, /^net\.ipv4\.ip_forward = 1$/m);
  assert.match(natSys, /^net\.ipv4\.conf\.all\.send_redirects = 0$/m);
  assert.match(natSys, /^-net\.ipv4\.vs\.conntrack = 1$/m);
  assert.equal(natSys.match(/ip_forward/g)!.length, 1, "an override replaces the baseline line");
  const mods = renderDirector(nat, "dir-a", opts)[3]!.content;
  assert.deepEqual(mods.split("\n").filter((l) => l && !l.startsWith("#")), ["ip_vs", "ip_vs_rr", "ip_vs_sh"]);
});

test("director sysctls: the file lays out src/inventory's list, comment above, '-' before IPVS keys", () => {
  const v6 = { ...nat, directorSysctls: { "net.core.somaxconn": "4096" }, services: nat.services.map((s) => ({ ...s, vip: "2001:db8::10" })) };
  const body = renderDirector(v6, "dir-a", opts)[2]!.content.split("\n").filter((l) => l && !/^# (LVS director|Keys starting|\(|and `sysctl)/.test(l));
  assert.deepEqual(body, [
    "# NAT: replies from the real servers are routed back through the director.",
    "net.ipv6.conf.all.forwarding = 1",
    "# Drop connections to a removed real server at once, so clients reconnect instead of hanging.",
    "-net.ipv4.vs.expire_nodest_conn = 1",
    "# Persistence templates of a real server at weight 0 expire, so persistent clients move.",
    "-net.ipv4.vs.expire_quiescent_template = 1",
    "net.core.somaxconn = 4096",
  ]);
});

test("real servers: DR gets arp sysctls and the VIPs on lo; NAT-only gets only the gateway unit", () => {
  const [sysctl, unit] = renderRealServer(dr, "web1", opts);
  assert.match(sysctl!.content, /^net\.ipv4\.conf\.all\.arp_ignore = 1$/m);
  assert.match(sysctl!.content, /^net\.ipv4\.conf\.all\.arp_announce = 2$/m);
  assert.match(sysctl!.content, /^net\.ipv4\.conf\.eth0\.arp_ignore = 1$/m, "lvs_interface host var");
  assert.match(unit!.content, /^Type=oneshot$/m);
  assert.match(unit!.content, /^RemainAfterExit=yes$/m);
  assert.match(unit!.content, /^ExecStart=\/sbin\/ip addr replace 192\.0\.2\.100\/32 dev lo$/m);
  assert.match(unit!.content, /^ExecStop=-\/sbin\/ip addr del 192\.0\.2\.100\/32 dev lo$/m);
  assert.match(unit!.content, /^Before=network-online\.target$/m);
  const natFiles = renderRealServer(nat, "app1", opts);
  assert.deepEqual(natFiles.map((f) => f.path), ["/etc/systemd/system/lvs-rs-gateway.service"]);
  assert.match(natFiles[0]!.content, /^ExecStart=\/sbin\/ip route replace default via 10\.1\.0\.1$/m);
  assert.match(natFiles[0]!.content, /^After=network-online\.target$/m);
  assert.deepEqual(renderHost(nat, "app1", opts), natFiles);
});

test("real servers: the interface facing the directors comes from the caller (facts), else lvs_interface; dots become slashes", () => {
  const lines = (content: string) => content.split("\n").filter((l) => /^-?net\./.test(l));
  // dr's web1 has lvs_interface: eth0; web2 has none.
  assert.ok(lines(renderRealServer(dr, "web1", opts)[0]!.content).includes("net.ipv4.conf.eth0.arp_ignore = 1"));
  assert.deepEqual(lines(renderRealServer(dr, "web2", opts)[0]!.content), [
    "net.ipv4.conf.all.arp_ignore = 1",
    "net.ipv4.conf.all.arp_announce = 2",
    "net.ipv4.conf.default.arp_ignore = 1",
    "net.ipv4.conf.default.arp_announce = 2",
  ]);
  const given = lines(renderRealServer(dr, "web1", { ...opts, realServerInterface: "ens3.100" })[0]!.content);
  assert.deepEqual(given.slice(4), ["net.ipv4.conf.ens3/100.arp_ignore = 1", "net.ipv4.conf.ens3/100.arp_announce = 2"], "the caller's interface wins, in sysctl spelling");
  assert.deepEqual(lines(renderRealServer(dr, "web2", { ...opts, realServerInterface: "all" })[0]!.content).length, 4, "all is not written twice");
  throwsCode(() => renderRealServer(dr, "web1", { ...opts, realServerInterface: "eth0 x" }), "LVS709", /not an interface name/);
  throwsCode(() => renderRealServer(dr, "web1", { ...opts, realServerInterface: "../../kernel" }), "LVS709");
  // The unit does not depend on the interface.
  assert.equal(renderRealServer(dr, "web1", { ...opts, realServerInterface: "ens9" })[1]!.content, renderRealServer(dr, "web1", opts)[1]!.content);
});

test("TUN real servers: rp_filter off, tunl0's key optional until ipip is loaded", () => {
  const tun: Cluster = { ...dr, services: dr.services.map((s) => ({ ...s, lbKind: "TUN" as const })) };
  const [sysctl, unit] = renderRealServer(tun, "web1", opts);
  assert.match(sysctl!.content, /^net\.ipv4\.conf\.all\.rp_filter = 0$/m);
  assert.match(sysctl!.content, /^-net\.ipv4\.conf\.tunl0\.rp_filter = 0$/m);
  assert.match(unit!.content, /^ExecStartPre=\/sbin\/modprobe ipip$/m);
});

test("fwmark real servers get every VRRP VIP, units they must precede, and the sorry server too", () => {
  const unit = renderHost(fwmark, "www1", opts)[1]!.content;
  assert.match(unit, /^Before=network-online\.target nginx\.service$/m);
  assert.match(unit, /addr replace 203\.0\.113\.80\/32 dev lo$/m);
  assert.match(unit, /addr replace 203\.0\.113\.81\/32 dev lo$/m);
  assert.equal(renderHost(fwmark, "sorry", opts).length, 2);
});

test("renderAll maps every host, directors and real servers alike", () => {
  const all = renderAll(dr, opts);
  assert.deepEqual([...all.keys()], ["lb1", "lb2", "web1", "web2"]);
  assert.equal(all.get("lb2")!.length, 4);
  assert.equal(all.get("web2")!.length, 2);
  throwsCode(() => renderHost(dr, "nosuch", opts), "LVS706", /nosuch/);
  throwsCode(() => renderDirector(dr, "web1", opts), "LVS703", /web1 is not a director/);
});

test("nopreempt and preempt_delay render state BACKUP (keepalived clears them under MASTER)", () => {
  const np = renderKeepalivedConf(withInstance(dr, { nopreempt: true }), "lb1", opts);
  assert.match(np, /state BACKUP/);
  assert.match(np, /^\s+nopreempt$/m);
  const pd = renderKeepalivedConf(withInstance(dr, { preemptDelay: 30 }), "lb1", opts);
  assert.match(pd, /state BACKUP/);
  assert.match(pd, /preempt_delay 30/);
  assert.match(renderKeepalivedConf(withInstance(dr, { preemptDelay: 0 }), "lb1", opts), /state MASTER/);
});

test("vrrp_strict: only the address owner (priority 255) starts as MASTER", () => {
  const strict = { ...dr, globalDefs: { ...dr.globalDefs, vrrpStrict: true } };
  const noAuth = withInstance(strict, { authPass: undefined, unicastSrcIp: undefined, unicastPeers: [] });
  const conf = renderKeepalivedConf(noAuth, "lb1", opts);
  assert.match(conf, /^\s+vrrp_strict$/m);
  assert.match(conf, /state BACKUP/);
  assert.match(renderKeepalivedConf(withInstance(noAuth, { priority: 255 }), "lb1", opts), /state MASTER/);
});

test("preempt_delay is dropped with nopreempt and under vrrp_strict, as keepalived resets it", () => {
  const both = renderKeepalivedConf(withInstance(dr, { nopreempt: true, preemptDelay: 30 }), "lb1", opts);
  assert.match(both, /^\s+nopreempt$/m);
  assert.doesNotMatch(both, /preempt_delay/);
  assert.equal(toLvsdConfig(withInstance(dr, { nopreempt: true, preemptDelay: 30 }), "lb1", opts).instances[0]!.preemptDelaySec, 0);
});

test("a DR sorry server on the service port is written with it (a different port is validate.ts's LVS402)", () => {
  const svc = dr.services[0]!;
  assert.match(renderKeepalivedConf({ ...dr, services: [{ ...svc, sorryServer: { address: "192.0.2.99", port: 80 } }] }, "lb1", opts), /sorry_server 192\.0\.2\.99 80/);
});

test("the instance's own interface is dropped from track_interface (keepalived warns on it)", () => {
  const c = renderKeepalivedConf(withInstance(dr, { trackInterfaces: ["eth0"] }), "lb1", opts);
  assert.doesNotMatch(c, /track_interface/);
  const d = renderKeepalivedConf(withInstance(dr, { trackInterfaces: ["eth0", "bond0", "bond0"] }), "lb1", opts);
  assert.match(d, /track_interface \{\n\s+bond0\n\s+\}/);
});

test("advert_int: whole seconds for v2, centiseconds for v3", () => {
  assert.match(renderKeepalivedConf(withInstance(dr, { version: 3, advertInt: 0.05, authPass: undefined }), "lb1", opts), /advert_int 0\.05\n\s+version 3/);
  assert.match(renderKeepalivedConf(withInstance(dr, { advertInt: 2 }), "lb1", opts), /advert_int 2\n\s+version 2/);
});

test("auth_pass: a resolved secret longer than 8 bytes, or empty, is refused, not silently cut", () => {
  const secret = (value: string) => ({ resolveSecret: (ref: unknown) => (typeof ref === "string" ? ref : value) });
  const env = withInstance(dr, { authPass: { env: "VRRP_PASS" } });
  throwsCode(() => renderKeepalivedConf(env, "lb1", secret("123456789")), "LVS704", /^VRRP instance VI_WEB \(director lb1\): auth_pass is 9 bytes; VRRP PASS authentication carries 1 to 8$/);
  throwsCode(() => toLvsdConfig(env, "lb1", secret("")), "LVS704", /auth_pass is 0 bytes/);
  // Counted as it goes on the wire: 5 characters, 10 bytes in UTF-8.
  throwsCode(() => renderKeepalivedConf(env, "lb1", secret("ééééé")), "LVS704", /10 bytes/);
  assert.match(renderKeepalivedConf(env, "lb1", secret("12345678")), /auth_pass 12345678/);
  assert.match(renderKeepalivedConf(withInstance(dr, { authPass: "two word" }), "lb1", opts), /auth_pass "two word"/);
});

test("fwmark services carry no protocol and no real server or sorry server port", () => {
  const c = renderKeepalivedConf(fwmark, "lvs1", opts);
  assert.match(c, /virtual_server fwmark 1 \{/);
  assert.doesNotMatch(c.slice(c.indexOf("virtual_server")), /protocol/);
  assert.match(c, /real_server 203\.0\.113\.21 \{/);
  assert.match(c, /sorry_server 203\.0\.113\.29\n/);
});

test("scripts are double-quoted and turn on script security; a double quote is refused", () => {
  const c = renderKeepalivedConf(fwmark, "lvs1", opts);
  assert.match(c, /enable_script_security\n\s+script_user root/);
  assert.match(c, /notify_down "\/usr\/local\/bin\/rs-down 'www 1'"/);
  assert.doesNotMatch(renderKeepalivedConf({ ...dr, services: dr.services.slice(0, 1) }, "lb1", opts), /enable_script_security/);
  // validate refuses it (LVS121); past validate, the renderers' guard does (src/render/guard.ts).
  throwsCode(() => renderKeepalivedConf(withInstance(dr, { notify: { master: '/bin/echo "hi"' } }), "lb1", opts), "LVS707", /vrrp_instance VI_WEB's notify_master into keepalived\.conf: it holds a double quote/);
  assert.equal(kaQuote("/bin/true a b"), '"/bin/true a b"');
});

test("masking: plan output shows *** and maskSecrets hides resolved values", () => {
  const masked = renderKeepalivedConf(dr, "lb1", { resolveSecret: maskedSecret });
  assert.match(masked, /auth_pass \*\*\*/);
  const real = renderKeepalivedConf(dr, "lb1", opts);
  const secrets = secretValues(dr, fakeSecret);
  assert.deepEqual(secrets, ["env-VRRP"]);
  assert.ok(real.includes("env-VRRP"));
  const hidden = maskSecrets(real, secrets);
  assert.ok(!hidden.includes("env-VRRP"));
  assert.match(hidden, /auth_pass \*\*\*/);
  assert.equal(maskSecrets("ab abc", ["ab", "abc", ""]), "*** ***");
});

test("status codes are written as ranges", () => {
  assert.deepEqual(statusCodeRanges([204, 200, 201, 202, 404, 200]), ["200-202", "204", "404"]);
  assert.deepEqual(statusCodeRanges([]), []);
});

test("scripts split like keepalived splits them", () => {
  assert.deepEqual(splitScript("/bin/notify.sh MASTER"), ["/bin/notify.sh", "MASTER"]);
  assert.deepEqual(splitScript("/bin/rs-down 'www 1'  x"), ["/bin/rs-down", "www 1", "x"]);
  assert.deepEqual(splitScript('/bin/a "b c" d\\ e \'\''), ["/bin/a", "b c", "d e", ""]);
});

test("the same inventory under another file name renders every host's files byte for byte the same", async () => {
  const { readFileSync } = await import("node:fs");
  const { parseInventory } = await import("../../../src/inventory/index.js");
  for (const example of ["dr.yml", "nat.yml", "fwmark.yml"]) {
    const text = readFileSync(join(import.meta.dirname, "../../../inventory", example), "utf8");
    const render = (file: string) => {
      const r = parseInventory(text, file, { env: { LVS_VRRP_PASS: "pw" } });
      assert.ok(r.ok, `${example}: ${r.diagnostics.map((d) => d.message).join("; ")}`);
      return [...renderAll(r.cluster, { resolveSecret: maskedSecret }).entries()];
    };
    assert.deepEqual(render(`/srv/a/${example}`), render(`/tmp/copy-of-${example}`), example);
  }
});

test("the renderers' guard: a model that skipped validate cannot put a newline into any file (LVS707, exit 70)", () => {
  const both = (c: Cluster, re: RegExp) => {
    for (const backend of ["keepalived", "lvsd"] as const) throwsCode(() => renderDirector(c, "lb1", { ...opts, backend }), "LVS707", re);
  };
  both(withInstance(dr, { interface: "eth0\ninclude /x.conf" }), /vrrp_instance VI_WEB's interface into (keepalived\.conf|lvsd\.json): it holds a newline/);
  both(withInstance(dr, { notify: { master: "/bin/true\ninclude /x.conf" } }), /notify_master into (keepalived\.conf|lvsd\.json): it holds a newline/);
  both({ ...dr, services: dr.services.map((s) => ({ ...s, name: `${"n".repeat(1021)} include /x.conf` })) }, /the name of virtual_servers\[0\] into (keepalived\.conf|lvsd\.json): it is 1037 bytes/);
  both({ ...dr, directorSysctls: { "net.ipv4.ip_forward": "1\nkernel.x = 1" } }, /director\.sysctls net\.ipv4\.ip_forward into a sysctl\.d file: it holds a newline/);
  const algo = { ...dr, services: dr.services.map((s) => ({ ...s, lbAlgo: "rr\nevil" })) };
  throwsCode(() => renderKeepalivedConf(algo, "lb1", opts), "LVS707", /lb_algo into keepalived\.conf: it holds a newline/);
  throwsCode(() => renderDirectorModules(algo, "lb1"), "LVS707", /a kernel module name into a modules-load\.d file: it holds a newline/);
  throwsCode(() => renderDirector({ ...dr, keepalived: { ...dr.keepalived, from: "source", sysconfdir: "/etc\nExecStartPre=/x" } }, "lb1", opts), "LVS707", /into a systemd unit: it holds a newline/);
  try {
    renderDirector(withInstance(dr, { interface: "eth0\n" }), "lb1", opts);
  } catch (e) {
    assert.equal((e as LvsctlError).exitCode, 70);
  }
  // No stricter than validate: an e-mail address zod accepts is written as it is.
  assert.match(renderKeepalivedConf({ ...dr, globalDefs: { ...dr.globalDefs, notificationEmail: ["-ops@example.com"] } }, "lb1", opts), /^\s+-ops@example\.com$/m);
  // A resolved secret is the user's to fix (exit 1), said without its value.
  const env = withInstance(dr, { authPass: { env: "VRRP_PASS" } });
  for (const backend of ["keepalived", "lvsd"] as const) {
    assert.throws(() => renderDirector(env, "lb1", { backend, resolveSecret: () => "ab$_PWD" }), (e: unknown) => {
      assert.ok(e instanceof LvsctlError && e.code === "LVS701" && e.exitCode === 1, String(e));
      assert.doesNotMatch(e.message, /ab|PWD/);
      return true;
    });
  }
});
