// Every rendered keepalived.conf (each director of each fixture and example inventory) passes
// Debian's `keepalived -t -f FILE` (2.2.7), which exits non-zero on warnings too (a missing
// interface, a deprecated keyword, script security...). keepalived checks that the interfaces
// exist, so each config is tested inside a network namespace of our own holding a bridge device
// per interface name it uses (bridges: no traffic, and no dummy module needed). Needs root.
//
// The other rendered host files are put to their real tools the same way: every systemd unit
// through `systemd-analyze verify` (no warnings allowed), the sysctl files through `sysctl -e -p`
// inside a private namespace (values read back), and the real-server VIP unit's ExecStart and
// ExecStop command lines run there too (VIPs appear on lo, twice is harmless, then they go).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import type { Cluster } from "../../src/inventory/model.js";
import { renderAll, renderDirector, type RenderedFile } from "../../src/render/index.js";
import { arbCluster } from "../fixtures/render/arbitrary.js";
import { fixtureCases, inventoryCases, type RenderCase } from "../fixtures/render/cases.js";
import { fakeSecret } from "../fixtures/render/index.js";
import { NetnsLab } from "../../src/lab/index.js";
import { showArgv } from "../../src/command/index.js";

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

/** The one host of inNamespace()'s lab. */
const H = "k";

/**
 * A fresh namespace with a bridge, up, named like each given interface (bridges: no traffic, and
 * no dummy module needed); removed after `fn`, also when it throws.
 */
function inNamespace<T>(interfaces: string[], fn: (net: NetnsLab) => T): T {
  const net = NetnsLab.create({ prefix: "lvsctl-kt", link: "none", hosts: [{ name: H }] });
  try {
    for (const name of interfaces) {
      net.ip(H, "link", "add", name, "type", "bridge");
      net.ip(H, "link", "set", name, "up");
    }
    return fn(net);
  } finally {
    net.destroy();
  }
}

/** keepalived -t on one config inside a fresh namespace; returns its exit status and output. */
function configTest(conf: string, interfaces: string[]): { status: number; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-kt-"));
  try {
    const file = join(dir, "keepalived.conf");
    writeFileSync(file, conf, { mode: 0o600 });
    const r = inNamespace(interfaces, (net) => net.exec(H, [KEEPALIVED, "-t", "-f", file], { timeoutMs: 20_000 }));
    return { status: r.code, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkCase(c: RenderCase): void {
  assert.ok(c.cluster.directors.length > 0, `${c.name} has no directors`);
  for (const d of c.cluster.directors) {
    const files = renderDirector(c.cluster, d.host.name, { resolveSecret: fakeSecret, backend: "keepalived" });
    const conf = files.find((f) => f.path.endsWith("/keepalived.conf"));
    assert.ok(conf, `no keepalived.conf rendered for ${d.host.name}`);
    assert.match(showArgv(conf.validate ?? []), /keepalived -t -f %s$/);
    const r = configTest(conf.content, interfacesOf(c.cluster, d.host.name));
    assert.equal(r.status, 0, `keepalived -t failed (exit ${r.status}) for ${c.name}/${d.host.name}:\n${r.output}\n--- config ---\n${conf.content}`);
  }
}

const skip = why();

test("keepalived -t: 15 generated clusters (fixed seed), every director", { skip }, () => {
  const sample = fc.sample(arbCluster, { numRuns: 15, seed: 424242 });
  sample.forEach((cluster, i) => checkCase({ name: `generated-${i}`, cluster }));
});

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

// --- the other host files ---------------------------------------------------------------------

/** `net.ipv4.conf.IFACE.x` lines name interfaces that must exist for sysctl to set them. */
function sysctlInterfaces(content: string): string[] {
  const names = [...content.matchAll(/^-?net\.ipv4\.conf\.([^.\s]+)\./gm)].map((m) => m[1]!);
  return [...new Set(names)].filter((n) => n !== "all" && n !== "default" && n !== "lo");
}

function sysctlLines(content: string): [string, string][] {
  return content
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(" = ") as [string, string]);
}

function allHostFiles(c: RenderCase): { host: string; file: RenderedFile }[] {
  const out: { host: string; file: RenderedFile }[] = [];
  for (const backend of ["keepalived", "lvsd"] as const) {
    for (const [host, files] of renderAll(c.cluster, { resolveSecret: fakeSecret, backend })) {
      for (const file of files) if (!out.some((x) => x.host === host && x.file.path === file.path)) out.push({ host, file });
    }
  }
  return out;
}

const analyze = spawnSync("systemd-analyze", ["--version"]).status === 0;

function checkHostFiles(c: RenderCase, t: { diagnostic: (m: string) => void }): void {
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-units-"));
  const units: { where: string; unit: string }[] = [];
  try {
    for (const { host, file } of allHostFiles(c)) {
      const where = `${c.name}/${host}:${file.path}`;
      if (file.path.endsWith(".service")) {
        if (!analyze) continue;
        const exe = /^ExecStart=-?(\S+)/m.exec(file.content)?.[1];
        if (exe && !existsSync(exe)) {
          t.diagnostic(`${where}: not verified, ${exe} is not on this machine`);
          continue;
        }
        // One folder per file (the unit's name must stay), all verified in one call below.
        const unitDir = join(dir, String(units.length));
        mkdirSync(unitDir);
        const unit = join(unitDir, file.path.split("/").pop()!);
        writeFileSync(unit, file.content);
        units.push({ where, unit });
      } else if (file.path.startsWith("/etc/sysctl.d/")) {
        const conf = join(dir, "sysctl.conf");
        writeFileSync(conf, file.content);
        inNamespace(sysctlInterfaces(file.content), (net) => {
          const r = net.exec(H, ["sysctl", "-e", "-p", conf]);
          assert.equal(r.code, 0, `sysctl -e -p ${where}:\n${r.stderr}`);
          for (const [key, value] of sysctlLines(file.content)) {
            if (key.startsWith("-")) continue; // IPVS keys: only with ip_vs loaded
            const got = net.exec(H, ["sysctl", "-n", key]);
            assert.equal(got.stdout.trim(), value, `${where}: ${key} reads back ${got.stdout.trim()}`);
          }
        });
      }
      if (file.path.endsWith("/lvs-rs-vip.service")) checkVipUnit(where, file.content);
    }
    if (units.length > 0) {
      const r = run("systemd-analyze", ["verify", ...units.map((u) => u.unit)], 60_000);
      const names = units.map((u) => `${u.where} is ${u.unit}`).join("\n");
      assert.equal(r.status, 0, `systemd-analyze verify failed:\n${r.stderr}\n${names}`);
      assert.equal(r.stderr.trim(), "", `systemd-analyze verify warns:\n${r.stderr}\n${names}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function commandLines(unit: string, key: string): string[][] {
  return [...unit.matchAll(new RegExp(`^${key}=-?(.+)$`, "gm"))].map((m) => m[1]!.split(" "));
}

function loAddresses(net: NetnsLab): string[] {
  return [...net.ip(H, "-o", "addr", "show", "dev", "lo").matchAll(/inet6? (\S+)/g)].map((m) => m[1]!).filter((a) => a !== "127.0.0.1/8" && a !== "::1/128");
}

function checkVipUnit(where: string, unit: string): void {
  const starts = commandLines(unit, "ExecStart");
  const stops = commandLines(unit, "ExecStop");
  assert.ok(starts.length > 0, `${where} adds no VIP`);
  const wanted = starts.map((argv) => argv[3]!).sort();
  inNamespace([], (net) => {
    for (let round = 0; round < 2; round++) {
      for (const argv of starts) {
        const r = net.exec(H, argv);
        assert.equal(r.code, 0, `${where}: ${argv.join(" ")} (round ${round + 1}):\n${r.stderr}`);
      }
      assert.deepEqual(loAddresses(net).sort(), wanted, `${where}: lo after ExecStart, round ${round + 1}`);
    }
    for (const argv of stops) net.exec(H, argv);
    assert.deepEqual(loAddresses(net), [], `${where}: ExecStop leaves VIPs on lo`);
  });
}

for (const c of fixtureCases()) {
  test(`host files: fixture ${c.name} (systemd-analyze verify, sysctl -p, VIP unit commands)`, { skip }, (t) => checkHostFiles(c, t));
}

test("host files: every example inventory", { skip }, async (t) => {
  const { cases, loaderMissing, failures } = await inventoryCases();
  if (loaderMissing) return t.skip("inventory/*.yml exist but loadInventory is not there yet");
  assert.deepEqual(failures, [], "example inventories that do not load");
  if (cases.length === 0) return t.skip("no inventory/*.yml yet");
  for (const c of cases) await t.test(c.name, (tt) => checkHostFiles(c, tt));
});
