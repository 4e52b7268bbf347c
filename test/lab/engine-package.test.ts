// The package op (apt) on a real Debian 12 host, through runPlaybook over SSH (as
// engine-playbook.test.ts). The lab hosts have no route out of the lab, so no mirror can be
// reached: the test builds a tiny .deb here (`dpkg-deb --build`, nothing downloaded), writes a
// flat apt repository for it into the host's disk, points the host's apt at ONLY that repository
// (its other sources are moved aside inside the container) and empties its package lists, as on
// a freshly imaged host. Then:
//   control                  `apt-get install` alone (what the op did before) fails: "Unable to locate package"
//   --check                  reports the refresh and the install, runs neither
//   first run                `apt-get update` then `apt-get install`: the marker file exists, dpkg says ii 1.0
//   second run               ok, no step, and no apt command touched the lists, dpkg's status or apt's log
//   lists carry the package  a reinstall after `dpkg -r` plans no refresh; update_cache: true plans one
//   a name the repo lacks    the refresh runs, the install fails with apt's "Unable to locate package" and a hint
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Lab, labPrerequisites } from "../../src/lab/index.js";
import { loadInventory } from "../../src/inventory/index.js";
import type { Cluster } from "../../src/inventory/model.js";
import type { RunOptions } from "../../src/run/index.js";
import { ofType, runLabPlaybook, tempDir, writeLabInventory } from "./helpers/index.js";

const why = labPrerequisites() ?? (spawnSync("dpkg-deb", ["--version"]).status === 0 ? undefined : "needs dpkg-deb (Debian package dpkg) to build the test package");
const HOST = "r1";
const PKG = "lvslab-probe";
const MARKER = `/usr/share/${PKG}/marker`;
/** Inside the host. */
const REPO = "/srv/lvslab-repo";
/** The one source the host keeps: the flat repository, trusted without a signature (it never leaves this test). */
const SOURCE = `deb [trusted=yes] file:${REPO} ./\n`;
/** What an apt command run on the host would change: the lists, dpkg's status and apt's own log. */
const APT_TRACES = "stat -c '%n %s %y' /var/lib/apt/lists /var/lib/apt/lists/* /var/lib/dpkg/status /var/log/apt/history.log 2>/dev/null; true";

/** lvslab-probe 1.0 (all): one file, built locally; returns the .deb's bytes. */
function buildDeb(): Buffer {
  const dir = tempDir("lvslab-deb-");
  const root = join(dir, "root");
  mkdirSync(join(root, "DEBIAN"), { recursive: true });
  mkdirSync(join(root, "usr/share", PKG), { recursive: true });
  writeFileSync(join(root, "DEBIAN/control"), `Package: ${PKG}\nVersion: 1.0\nArchitecture: all\nMaintainer: lvsctl lab <lab@localhost>\nSection: misc\nPriority: optional\nDescription: lvsctl lab probe\n One marker file, to prove the package op on a host without network.\n`);
  writeFileSync(join(root, "usr/share", PKG, "marker"), "lvslab-probe 1.0\n");
  const deb = join(dir, `${PKG}_1.0_all.deb`);
  const r = spawnSync("dpkg-deb", ["--root-owner-group", "--build", root, deb], { encoding: "utf8" });
  assert.equal(r.status, 0, `dpkg-deb --build: ${r.stderr}`);
  return readFileSync(deb);
}

/** A flat repository (sources.list(5) "deb URI ./"): the .deb, its Packages stanza, a Release naming Packages' SHA256. */
function writeRepo(hostRoot: string, deb: Buffer): void {
  const dir = join(hostRoot, REPO);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const file = `${PKG}_1.0_all.deb`;
  writeFileSync(join(dir, file), deb, { mode: 0o644 });
  const fields = spawnSync("dpkg-deb", ["-f", join(dir, file)], { encoding: "utf8" });
  assert.equal(fields.status, 0, fields.stderr);
  const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
  const packages = `${fields.stdout.trimEnd()}\nFilename: ./${file}\nSize: ${deb.length}\nSHA256: ${sha(deb)}\n\n`;
  writeFileSync(join(dir, "Packages"), packages, { mode: 0o644 });
  writeFileSync(join(dir, "Release"), `Origin: lvslab\nLabel: lvslab\nSuite: lvslab\nCodename: lvslab\nDate: ${new Date().toUTCString()}\nSHA256:\n ${sha(packages)} ${Buffer.byteLength(packages)} Packages\n`, { mode: 0o644 });
}

describe("engine: package (apt) with the lists refreshed when apt has no candidate", { skip: why ?? false, timeout: 180_000 }, () => {
  let lab: Lab;
  let cluster: Cluster;
  const dir = tempDir("lvslab-pkg-");

  before(async () => {
    lab = await Lab.up({ hosts: [HOST] });
    writeRepo(lab.host(HOST).root, buildDeb());
    // Only the lab's repository; the base's sources and lists (the mirror the base was built
    // from, unreachable from inside the lab) are moved aside, the lists emptied: a fresh host.
    await lab.execOk(
      HOST,
      "set -e; mkdir -p /root/apt-sources-aside; mv /etc/apt/sources.list /root/apt-sources-aside/ 2>/dev/null || true; " +
        "find /etc/apt/sources.list.d -mindepth 1 -maxdepth 1 -exec mv -t /root/apt-sources-aside/ {} +; " +
        `printf '%s' '${SOURCE}' > /etc/apt/sources.list.d/lvslab.list; ` +
        "find /var/lib/apt/lists -maxdepth 1 -type f ! -name lock -delete; rm -f /var/cache/apt/*.bin",
    );
    const loaded = await loadInventory(writeLabInventory(lab, { directors: ["d1"], realservers: [HOST], hostSettings: { d1: { address: lab.freeAddress(9) } } }));
    assert.ok(loaded.ok, JSON.stringify(loaded.diagnostics));
    cluster = loaded.cluster!;
  });
  after(async () => {
    await lab?.down();
  });

  /** One play on r1 with one package task. */
  const play = async (pkg: unknown, options: RunOptions = {}) => {
    const file = join(dir, `pb-${Math.random().toString(36).slice(2)}.yml`);
    writeFileSync(file, JSON.stringify([{ name: "package", hosts: "realservers", tasks: [{ name: "probe", package: pkg }] }]));
    const t0 = performance.now();
    const { events, ...r } = await runLabPlaybook(lab, cluster, file, options);
    const results = ofType(events, "task.result").filter((e) => e.host === HOST);
    assert.equal(results.length, 1, JSON.stringify(events));
    return { exitCode: r.exitCode, result: results[0]!, ms: Math.round(performance.now() - t0) };
  };
  const dpkgStatus = async () => (await lab.exec(HOST, `dpkg-query -W -f='\${db:Status-Abbrev}\${Version}' ${PKG}`)).stdout.replace(/\s+/, " ");
  const traces = async () => lab.execOk(HOST, APT_TRACES);

  test("--check on a fresh host: the refresh and the install are reported, nothing runs", async () => {
    // The control: what the op did before it read candidates (install only) fails on this host.
    const bare = await lab.exec(HOST, `DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${PKG}`);
    assert.equal(bare.code, 100);
    assert.match(bare.stderr, new RegExp(`E: Unable to locate package ${PKG}`));
    const before = await traces();
    const r = await play(PKG, { check: true });
    assert.equal(r.exitCode, 0);
    assert.equal(r.result.status, "changed");
    assert.ok(r.result.check);
    assert.equal(r.result.reason, `missing: ${PKG}; no candidate for ${PKG} in the package lists: refreshing them first`);
    assert.deepEqual(r.result.steps, ["apt-get update -q (refresh the package lists)", `apt-get install ${PKG}`]);
    assert.equal(await traces(), before, "--check ran no apt command");
    assert.equal(await dpkgStatus(), "", "not installed");
    console.log(`# --check: ${r.ms} ms`);
  });

  test("first run refreshes and installs; the second changes nothing and runs no apt command", async () => {
    const first = await play(PKG);
    assert.equal(first.exitCode, 0, first.result.reason);
    assert.equal(first.result.status, "changed", first.result.reason);
    assert.deepEqual(first.result.steps, ["apt-get update -q (refresh the package lists)", `apt-get install ${PKG}`]);
    assert.equal(await dpkgStatus(), "ii 1.0");
    assert.equal(await lab.execOk(HOST, `cat ${MARKER}`), "lvslab-probe 1.0\n");
    assert.match(await lab.execOk(HOST, "ls /var/lib/apt/lists"), /_srv_lvslab-repo_\._Packages/, "apt-get update fetched the lab repository's Packages");

    const before = await traces();
    const second = await play(PKG);
    assert.equal(second.exitCode, 0);
    assert.deepEqual([second.result.status, second.result.reason, second.result.steps], ["ok", `${PKG} 1.0`, []]);
    assert.equal(await traces(), before, "no apt command ran: lists, dpkg status and apt's history untouched");
    console.log(`# first run (apt-get update + install) ${first.ms} ms, second run ${second.ms} ms`);
  });

  test("lists that carry the package: no refresh, unless update_cache: true", async () => {
    await lab.execOk(HOST, `dpkg -r ${PKG} >/dev/null`);
    const plain = await play(PKG, { check: true });
    assert.deepEqual([plain.result.reason, plain.result.steps], [`missing: ${PKG}`, [`apt-get install ${PKG}`]]);
    const refresh = await play({ name: PKG, update_cache: true });
    assert.equal(refresh.exitCode, 0, refresh.result.reason);
    assert.deepEqual([refresh.result.status, refresh.result.reason, refresh.result.steps], ["changed", `missing: ${PKG}; update_cache: refreshing the package lists first`, ["apt-get update -q (refresh the package lists)", `apt-get install ${PKG}`]]);
    assert.equal(await dpkgStatus(), "ii 1.0");
    const again = await play({ name: PKG, update_cache: true });
    assert.deepEqual([again.result.status, again.result.steps], ["ok", []], "update_cache with nothing missing: no refresh");
  });

  test("a name no configured repository has: refresh, then apt's own error and a hint", async () => {
    const r = await play([PKG, "lvslab-nope"]);
    assert.equal(r.exitCode, 2, "a task failed");
    assert.equal(r.result.status, "failed");
    assert.deepEqual(r.result.steps, ["apt-get update -q (refresh the package lists)", "apt-get install lvslab-nope"], "the refresh ran, the install was tried");
    assert.match(r.result.reason, /^missing: lvslab-nope; no candidate for lvslab-nope in the package lists: refreshing them first: `apt-get install lvslab-nope` exited 100: /);
    assert.match(r.result.reason, /E: Unable to locate package lvslab-nope/);
    assert.match(r.result.reason, /hint: apt had no candidate for lvslab-nope before refreshing its lists; .*check the name/);
    assert.equal(await dpkgStatus(), "ii 1.0", `${PKG} is still installed`);
    console.log(`# failed as it should (${r.ms} ms): ${r.result.reason.replace(/\n/g, " | ")}`);
  });
});
