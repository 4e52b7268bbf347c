// Every rendered keepalived.conf (each director of each fixture and example inventory) passes
// Debian's `keepalived -t -f FILE` (2.2.7), which exits non-zero on warnings too (a missing
// interface, a deprecated keyword, script security...). keepalived checks that the interfaces
// exist, so each config is tested inside a network namespace of our own holding a bridge device
// per interface name it uses (bridges: no traffic, and no dummy module needed). Needs root.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Cluster } from "../../src/inventory/model.js";
import { renderDirector } from "../../src/render/index.js";
import { fixtureCases, inventoryCases, type RenderCase } from "../fixtures/render/cases.js";
import { fakeSecret } from "../fixtures/render/index.js";

const KEEPALIVED = "/usr/sbin/keepalived";

function why(): string | undefined {
  if (!existsSync(KEEPALIVED)) return `keepalived is not installed at ${KEEPALIVED} (apt-get install keepalived)`;
  if (process.getuid?.() !== 0) return "needs root: keepalived -t runs in a network namespace created for the test";
  if (spawnSync("ip", ["-V"]).status !== 0) return "needs iproute2 (the ip command)";
  return undefined;
}

function run(cmd: string, args: string[], timeoutMs = 20_000) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
}

function interfacesOf(cluster: Cluster, director: string): string[] {
  const d = cluster.directors.find((x) => x.host.name === director)!;
  const names = d.instances.flatMap((i) => [i.interface, ...i.trackInterfaces, ...i.vips.map((v) => v.dev ?? i.interface)]);
  return [...new Set(names)].sort();
}

let seq = 0;

/** keepalived -t on one config inside a fresh namespace; returns its exit status and output. */
function configTest(conf: string, interfaces: string[]): { status: number | null; output: string } {
  const ns = `lvsctl-kt-${process.pid}-${seq++}`;
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-kt-"));
  try {
    const add = run("ip", ["netns", "add", ns]);
    assert.equal(add.status, 0, `ip netns add ${ns}: ${add.stderr}`);
    for (const name of interfaces) {
      const r = run("ip", ["-n", ns, "link", "add", name, "type", "bridge"]);
      assert.equal(r.status, 0, `creating ${name} in ${ns}: ${r.stderr}`);
      run("ip", ["-n", ns, "link", "set", name, "up"]);
    }
    const file = join(dir, "keepalived.conf");
    writeFileSync(file, conf, { mode: 0o600 });
    const r = run("ip", ["netns", "exec", ns, KEEPALIVED, "-t", "-f", file]);
    return { status: r.status, output: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ""}` };
  } finally {
    run("ip", ["netns", "del", ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkCase(c: RenderCase): void {
  assert.ok(c.cluster.directors.length > 0, `${c.name} has no directors`);
  for (const d of c.cluster.directors) {
    const files = renderDirector(c.cluster, d.host.name, { resolveSecret: fakeSecret, backend: "keepalived" });
    const conf = files.find((f) => f.path.endsWith("/keepalived.conf"));
    assert.ok(conf, `no keepalived.conf rendered for ${d.host.name}`);
    assert.match(conf.validate ?? "", /keepalived -t -f %s$/);
    const r = configTest(conf.content, interfacesOf(c.cluster, d.host.name));
    assert.equal(r.status, 0, `keepalived -t failed (exit ${r.status}) for ${c.name}/${d.host.name}:\n${r.output}\n--- config ---\n${conf.content}`);
  }
}

const skip = why();

test("keepalived -t: the probe itself fails on a broken config", { skip }, () => {
  const r = configTest("vrrp_instance VI_1 {\n  state MASTER\n  interface eth0\n  virtual_router_id 51\n  priority 150\n  bogus_keyword 1\n  virtual_ipaddress {\n    192.0.2.1/32\n  }\n}\n", ["eth0"]);
  assert.notEqual(r.status, 0, "keepalived -t accepted an unknown keyword; the test below would prove nothing");
});

for (const c of fixtureCases()) {
  test(`keepalived -t: fixture ${c.name}`, { skip }, () => checkCase(c));
}

test("keepalived -t: every example inventory", { skip }, async (t) => {
  const { cases, loaderMissing, failures } = await inventoryCases();
  if (loaderMissing) return t.skip("inventory/*.yml exist but loadInventory is not there yet");
  assert.deepEqual(failures, [], "example inventories that do not load");
  if (cases.length === 0) return t.skip("no inventory/*.yml yet");
  for (const c of cases) await t.test(c.name, () => checkCase(c));
});
