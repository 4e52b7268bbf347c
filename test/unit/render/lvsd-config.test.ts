// lvsd.json: what lvsctl writes is exactly what the daemon parses (same zod schema), keys are
// sorted so the text is stable, keepalived's defaults are filled in, and the daemon's parser
// refuses what it cannot run.
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { LvsdConfig, parseLvsdConfig } from "../../../src/daemon/config.js";
import { renderLvsdJson, stableJson, toLvsdConfig } from "../../../src/render/index.js";
import { fixtureCases } from "../../fixtures/render/cases.js";
import { dr } from "../../fixtures/render/dr.js";
import { fwmark } from "../../fixtures/render/fwmark.js";
import { fakeSecret } from "../../fixtures/render/index.js";
import { nat } from "../../fixtures/render/nat.js";

const opts = { resolveSecret: fakeSecret };

test("every fixture's lvsd.json parses back to the converter's value", () => {
  for (const c of fixtureCases()) {
    for (const d of c.cluster.directors) {
      const text = renderLvsdJson(c.cluster, d.host.name, opts);
      assert.deepEqual(parseLvsdConfig(text), toLvsdConfig(c.cluster, d.host.name, opts), `${c.name}/${d.host.name}`);
    }
  }
});

test("stable JSON: keys sorted at every level, arrays kept in order", () => {
  assert.equal(stableJson({ b: 1, a: { d: [3, 1], c: null } }), '{\n  "a": {\n    "c": null,\n    "d": [\n      3,\n      1\n    ]\n  },\n  "b": 1\n}\n');
});

test("keepalived defaults are written out for the daemon", () => {
  const c = toLvsdConfig(dr, "lb1", opts);
  const i = c.instances[0]!;
  assert.equal(i.advertIntervalCs, 100);
  assert.deepEqual(i.garp, { masterDelaySec: 5, masterRepeat: 5, masterRefreshSec: 0 });
  assert.equal(i.preemptDelaySec, 0);
  assert.equal(i.authPass, "env-VRRP");
  const s = c.services[0]!;
  assert.equal(s.quorum, 1);
  assert.equal(s.hysteresis, 0);
  const n = toLvsdConfig(nat, "dir-a", opts);
  assert.equal(n.instances[0]!.advertIntervalCs, 50, "v3 0.5 s = 50 cs");
  const dns = n.services[1]!;
  assert.equal(dns.delayLoopSec, 60, "keepalived's delay_loop default");
  assert.deepEqual(dns.realServers[0]!.check, {
    type: "MISC",
    argv: ["/usr/bin/dig", "@10.1.0.11", "+time=1", "example.org"],
    timeoutSec: 3,
    dynamic: false,
    retry: 1,
    delayBeforeRetrySec: 1,
  });
  const tcp = n.services[0]!.realServers[0]!.check!;
  assert.equal(tcp.type, "TCP");
  assert.equal(tcp.type === "TCP" && tcp.connectTimeoutSec, 2.5);
});

test("HTTP/SSL checks: 3 s delay_before_retry default, virtualhost from the service, sorted codes", () => {
  const c = toLvsdConfig(fwmark, "lvs1", opts);
  const s = c.services[0]!;
  assert.equal(s.fwmark, 1);
  assert.equal(s.vip, undefined);
  assert.deepEqual(s.sorryServer, { address: "203.0.113.29", port: 0 });
  const [a, b] = s.realServers;
  assert.ok(a?.check?.type === "SSL" && b?.check?.type === "SSL");
  assert.equal(a.check.delayBeforeRetrySec, 3);
  assert.equal(a.check.virtualhost, "shop.example.com");
  assert.equal(b.check.virtualhost, "www2.shop.example.com");
  assert.deepEqual(a.check.urls[0]!.statusCodes, [200, 201, 202, 204]);
  assert.equal(a.check.urls[1]!.digest, "9b3a0c8f1d2e4b5a6c7d8e9f0a1b2c3d");
  assert.deepEqual(a.notifyDown, ["/usr/local/bin/rs-down", "www 1"]);
  // nopreempt: both directors start BACKUP, like keepalived.conf; own interface not tracked.
  assert.equal(c.instances[0]!.state, "BACKUP");
  assert.deepEqual(c.instances[0]!.trackInterfaces, []);
  assert.deepEqual(c.instances[0]!.notify.master, ["/etc/keepalived/notify.sh", "MASTER"]);
});

test("sync groups keep only the instances the director runs", () => {
  const c = toLvsdConfig(nat, "dir-b", opts);
  assert.deepEqual(c.syncGroups, [
    { name: "VG_NAT", instances: ["VI_PUBLIC", "VI_GATEWAY"], notify: { master: ["/usr/local/bin/lvs-notify", "master"], generic: ["/usr/local/bin/lvs-notify"] } },
  ]);
});

test("the daemon's parser refuses what it cannot run", () => {
  const good = JSON.parse(renderLvsdJson(nat, "dir-a", opts)) as Record<string, unknown>;
  const bad = (mut: (c: any) => void, re: RegExp) => {
    const c = structuredClone(good) as any;
    mut(c);
    assert.throws(() => parseLvsdConfig(JSON.stringify(c)), re);
  };
  bad((c) => (c.version = 2), /version/);
  bad((c) => (c.instances[0].authPass = "123456789"), /instances\.0\.authPass/);
  // VRRP carries 8 octets: five accented letters are 10 bytes though 5 characters
  bad((c) => (c.instances[0].authPass = "\u00e9\u00e9\u00e9\u00e9\u00e9"), /instances\.0\.authPass: at most 8 bytes/);
  bad((c) => (c.instances[0].vrid = 0), /instances\.0\.vrid/);
  bad((c) => (c.instances[0].advertIntervalCs = 4096), /advertIntervalCs/);
  bad((c) => (c.services[0].fwmark = 3), /either vip and port, or fwmark/);
  bad((c) => (c.extra = true), /extra|Unrecognized/i);
  bad((c) => (c.syncGroups[0].instances = ["VI_NOPE"]), /unknown instance VI_NOPE/);
  assert.throws(() => parseLvsdConfig("{"), /not valid JSON/);
  assert.ok(LvsdConfig.safeParse(good).success);
});

test("director.lvsd.v3_checksum: strict writes nothing; lenient marks every v3 instance, never a v2 one", () => {
  const strict = toLvsdConfig(nat, "dir-a", opts);
  assert.ok(strict.instances.every((i) => i.v3ChecksumLenient === undefined));
  const lenient = toLvsdConfig({ ...nat, lvsd: { ...nat.lvsd, v3Checksum: "lenient" } }, "dir-a", opts);
  assert.ok(lenient.instances.some((i) => i.version === 3));
  for (const i of lenient.instances) assert.equal(i.v3ChecksumLenient, i.version === 3 ? true : undefined);
  const v2 = toLvsdConfig({ ...dr, lvsd: { ...dr.lvsd, v3Checksum: "lenient" } }, "lb1", opts);
  assert.ok(v2.instances.every((i) => i.version === 2 && i.v3ChecksumLenient === undefined));
});

test("checks: rise, alpha, SNI, verify_cert and quorum scripts reach lvsd.json; keepalived.conf gets what keepalived 2.2.7 knows", async () => {
  const { renderKeepalivedConf } = await import("../../../src/render/index.js");
  const c = structuredClone(fwmark);
  const s = c.services[0]!;
  s.quorumUp = "/usr/local/bin/q up";
  s.quorumDown = "/usr/local/bin/q down";
  const rs = s.realServers[0]!;
  assert.ok(rs.check?.type === "SSL_GET");
  rs.check = { ...rs.check, common: { ...rs.check.common, rise: 3, alpha: true }, sniName: "shop.example.com", verifyCert: true };
  const l = toLvsdConfig(c, "lvs1", opts).services[0]!;
  assert.deepEqual([l.quorumUp, l.quorumDown], [["/usr/local/bin/q", "up"], ["/usr/local/bin/q", "down"]]);
  const ck = l.realServers[0]!.check!;
  assert.ok(ck.type === "SSL");
  assert.deepEqual([ck.rise, ck.alpha, ck.sni, ck.verifyCert], [3, true, "shop.example.com", true]);
  // enable_sni alone: the virtualhost is the server name
  const c2 = structuredClone(fwmark);
  const r2 = c2.services[0]!.realServers[0]!;
  assert.ok(r2.check?.type === "SSL_GET");
  r2.check = { ...r2.check, enableSni: true };
  const ck2 = toLvsdConfig(c2, "lvs1", opts).services[0]!.realServers[0]!.check!;
  assert.equal(ck2.type === "SSL" ? ck2.sni : "", "shop.example.com");
  const ka = renderKeepalivedConf(c, "lvs1", opts);
  assert.match(ka, /quorum_up "?\/usr\/local\/bin\/q up"?/);
  assert.match(ka, /\n\s+enable_sni\n/);
  assert.match(ka, /\n\s+alpha\n/);
  assert.doesNotMatch(ka, /rise|verify_cert|sni_name/);
});

test("real servers with only the common fields are checked by hand: the same value, and the same errors, as the schema alone", () => {
  const base = JSON.parse(renderLvsdJson(nat, "dir-a", opts)) as any;
  const svc = (realServers: unknown[], over: Record<string, unknown> = {}) => ({ ...structuredClone(base.services[0]), realServers, ...over });
  const rs = (over: Record<string, unknown> = {}) => ({ address: "10.0.0.5", port: 80, weight: 2, inhibitOnFailure: false, ...over });
  const schemaAlone = (c: unknown): string => {
    const r = LvsdConfig.safeParse(c);
    return r.success ? JSON.stringify(r.data) : `invalid: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`;
  };
  const ours = (c: unknown): string => {
    try {
      return JSON.stringify(parseLvsdConfig(JSON.stringify(c)));
    } catch (e) {
      return `invalid: ${(e as Error).message.split("\n").slice(1).map((l) => l.trim()).join("; ")}`;
    }
  };
  const cases: unknown[][] = [
    [rs(), rs({ address: "10.0.0.6", uthreshold: 100, lthreshold: 0 })],
    [rs({ address: "fd00::5" })],
    [rs(), rs({ weight: 65536 })],
    [rs({ port: -1 })],
    [rs({ port: 1.5 })],
    [rs({ address: "10.0.0.05" })],
    [rs({ address: "10.0.0.256" })],
    [rs({ inhibitOnFailure: "no" })],
    [rs({ uthreshold: -1 })],
    [rs({ extra: 1 })],
    [rs({ notifyUp: ["/bin/true"] })],
    [rs(), null],
    [],
    [rs(), { address: "10.0.0.7", port: 80, weight: 1 }],
  ];
  for (const realServers of cases) {
    for (const over of [{}, { scheduler: "WRR" }]) {
      const c = { ...base, services: [svc([rs({ address: "10.0.0.9" })]), svc(realServers, over)] };
      assert.equal(ours(c), schemaAlone(c), JSON.stringify({ realServers, over }));
    }
  }
  // a typical large table takes the hand-checked way and gives the schema's value
  const big = { ...base, services: Array.from({ length: 50 }, (_, s) => svc(Array.from({ length: 10 }, (_, r) => rs({ address: `10.1.${s}.${r}` })), { name: `vs${s}` })) };
  assert.equal(ours(big), schemaAlone(big));
  assert.equal(parseLvsdConfig(JSON.stringify(big)).services[49]!.realServers[9]!.address, "10.1.49.9");
});
