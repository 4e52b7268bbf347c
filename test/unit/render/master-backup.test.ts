// The BACKUP director's config differs from the MASTER's only where it must: initial state,
// priority, router_id (and the header naming the director), unicast source and peers. Checked
// line by line on keepalived.conf and field by field on lvsd.json, for every fixture and example
// inventory with two or more directors.
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { renderKeepalivedConf, toLvsdConfig } from "../../../src/render/index.js";
import { fixtureCases, inventoryCases, type RenderCase } from "../../fixtures/render/cases.js";
import { keepalivedDifferences } from "../../fixtures/render/diff.js";
import { fakeSecret } from "../../fixtures/render/index.js";

const opts = { resolveSecret: fakeSecret };

function checkCase(c: RenderCase): void {
  const [first, ...others] = c.cluster.directors;
  assert.ok(first);
  const a = renderKeepalivedConf(c.cluster, first.host.name, opts);
  const ja = toLvsdConfig(c.cluster, first.host.name, opts);
  for (const d of others) {
    const b = renderKeepalivedConf(c.cluster, d.host.name, opts);
    assert.deepEqual(keepalivedDifferences(a, b), [], `${c.name}: ${first.host.name} and ${d.host.name} differ beyond state/priority/router_id/unicast`);
    const jb = toLvsdConfig(c.cluster, d.host.name, opts);
    const strip = (j: typeof ja) => ({
      ...j,
      routerId: "",
      instances: j.instances.map((i) => ({ ...i, state: "BACKUP", priority: 1, unicastSrcIp: undefined, unicastPeers: [] })),
    });
    assert.deepEqual(strip(jb), strip(ja), `${c.name}: lvsd configs of ${first.host.name} and ${d.host.name} differ beyond what they must`);
  }
}

test("master/backup: the check itself notices a difference elsewhere", () => {
  const a = "router_id a\nvrrp_instance X {\n  priority 100\n  advert_int 1\n}\n";
  assert.deepEqual(keepalivedDifferences(a, a.replace("priority 100", "priority 90")), []);
  assert.equal(keepalivedDifferences(a, a.replace("advert_int 1", "advert_int 2")).length, 1);
  assert.equal(keepalivedDifferences(a, a.replace("priority 100", "state 100")).length, 1);
});

test("master/backup: the directors really differ in state and priority (fixture-dr)", () => {
  const c = fixtureCases().find((x) => x.name === "fixture-dr")!;
  const a = renderKeepalivedConf(c.cluster, "lb1", opts);
  const b = renderKeepalivedConf(c.cluster, "lb2", opts);
  assert.match(a, /state MASTER\n\s+interface eth0\n\s+virtual_router_id 51\n\s+priority 150/);
  assert.match(b, /state BACKUP\n\s+interface eth0\n\s+virtual_router_id 51\n\s+priority 100/);
  assert.match(a, /unicast_src_ip 192\.0\.2\.11\n\s+unicast_peer \{\n\s+192\.0\.2\.12\n/);
  assert.match(b, /unicast_src_ip 192\.0\.2\.12\n\s+unicast_peer \{\n\s+192\.0\.2\.11\n/);
});

for (const c of fixtureCases()) {
  if (c.cluster.directors.length >= 2) test(`master/backup: fixture ${c.name}`, () => checkCase(c));
}

test("master/backup: every example inventory", async (t) => {
  const { cases, loaderMissing, failures } = await inventoryCases();
  if (loaderMissing) return t.skip("inventory/*.yml exist but loadInventory is not there yet");
  assert.deepEqual(failures, []);
  const pairs = cases.filter((c) => c.cluster.directors.length >= 2);
  if (pairs.length === 0) return t.skip("no example inventory with two directors yet");
  for (const c of pairs) await t.test(c.name, () => checkCase(c));
});
