// `lvsctl deploy` (the real CLI, over SSH) builds keepalived from Debian's source tarball on a lab
// director (a systemd-nspawn container, src/lab) and runs the build under lvsctl's unit:
//   - the director is VRRP-only (one VRRP instance, no virtual service: keepalived only moves a
//     VIP), so it needs no IPVS, which the containers' shared kernel does not have;
//   - the build dependencies come from the director's playbook's package task, installed from a
//     flat repository on the director's disk (the lab has no route out): the .debs a fresh lab host
//     lacks, downloaded once on this machine against the lab base's own lists (src/lab/apt-cache.ts);
//   - the tarball is Debian's keepalived .orig (`apt-get source --download-only`, fetched once and
//     cached under the lab folder), named in the inventory as a local file with its sha256;
//   - first deploy: the build directory under the prefix, keepalived.conf under the sysconfdir the
//     inventory sets, the unit's ExecStart and /proc/<main pid>/exe resolving into the build
//     directory, keepalived active and MASTER with the VIP;
//   - a second deploy: nothing built (the stamp), nothing changed, the same PID;
//   - another configure option: a second build beside the first, the link flips, keepalived
//     restarted on the new binary;
//   - the first options again: no build, the link flips back, keepalived restarted on the old binary.
// Build times are printed. Needs root.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Lab, labPrerequisites, projectRoot } from "../../src/lab/index.js";
import { loadPlaybook } from "../../src/run/playbook.js";
import { baseMissingDebs, debianSourceTarball, writeFlatRepo } from "../../src/lab/apt-cache.js";
import { changedTasks, describeRun, ofType, runCli, tempDir, type CliRun } from "./helpers/index.js";

const SKIP = labPrerequisites() ?? (spawnSync("dpkg-deb", ["--version"]).status === 0 ? undefined : "needs dpkg-deb (Debian package dpkg)");
const DIRECTOR = "d1";
const DEPS_TASK = "ipvsadm and keepalived's build dependencies";
/** What playbooks/director.yml installs for a source build on Debian, read from it. */
const BUILD_PACKAGES = ((): string[] => {
  const task = loadPlaybook(join(projectRoot, "playbooks", "director.yml")).plays.flatMap((p) => p.tasks).find((t) => t.name === DEPS_TASK);
  assert.ok(task && Array.isArray(task.args), `playbooks/director.yml has a package task named ${DEPS_TASK}`);
  return task.args as string[];
})();
const REPO = "/srv/lvsctl-repo";
const PREFIX = "/opt/lvsctl";
const SYSCONFDIR = "/etc/lvsctl";
const CONF = `${SYSCONFDIR}/keepalived/keepalived.conf`;
const LINK = `${PREFIX}/keepalived`;
const BUILD_TASK = "keepalived built from source";
/**
 * A VRRP-only director builds without the LVS part; the second build adds an option. CFLAGS=-O0
 * (configure takes variables as arguments) keeps the two builds' CI time down: unoptimised builds
 * took 138-176 s here at a load of 7-8 where -O2 ones took 256-287 s at 8-12. The test proves how
 * builds are made and run, not the binary's speed.
 */
const OPTIONS_A = ["--disable-lvs", "CFLAGS=-O0"];
const OPTIONS_B = ["--disable-lvs", "CFLAGS=-O0", "--disable-snmp"];
const note = (s: string) => console.log(`deploy-keepalived-source: ${s}`);

describe("container lab: lvsctl deploy builds keepalived from source on a VRRP-only director and runs it", { skip: SKIP ?? false, timeout: 40 * 60_000 }, () => {
  let lab: Lab;
  let tarball = { path: "", sha256: "", version: "" };
  let VIP = "";
  const dir = tempDir("lvsctl-ka-src-");
  const inventory = join(dir, "cluster.yml");

  const writeInventory = (options: string[]) =>
    writeFileSync(
      inventory,
      JSON.stringify(
        {
          defaults: { user: "root", key_file: lab.keyFile, connect_timeout: 20 },
          hosts: { [DIRECTOR]: { address: lab.host(DIRECTOR).address } },
          groups: { directors: { hosts: [DIRECTOR] } },
          director: { keepalived: { from: "source", tarball: tarball.path, sha256: tarball.sha256, version: tarball.version, prefix: PREFIX, sysconfdir: SYSCONFDIR, configure_options: options } },
          vrrp_instances: [{ name: "VI_1", interface: "eth0", virtual_router_id: 71, priority: 150, advert_int: 1, virtual_ipaddress: [`${VIP}/24`] }],
        },
        null,
        2,
      ) + "\n",
    );

  const deploy = async (options: string[]): Promise<CliRun> => {
    writeInventory(options);
    const r = await runCli(["deploy", inventory, "--json", "--known-hosts", lab.knownHostsFile], { timeoutMs: 30 * 60_000 });
    const build = ofType(r.events, "task.result").find((e) => e.task === BUILD_TASK);
    note(`deploy [${options.join(" ")}]: exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s; build task ${build?.status} in ${((build?.ms ?? 0) / 1000).toFixed(1)} s; changed: ${changedTasks(r.events).join(", ") || "nothing"}`);
    return r;
  };
  const sh = (cmd: string) => lab.execOk(DIRECTOR, cmd).then((s) => s.trim());
  /** keepalived's main PID, what its /proc/PID/exe resolves to, and the unit's ExecStart binary resolved. */
  const running = async () => {
    const pid = await sh("systemctl show -P MainPID keepalived.service");
    const execStart = await sh("systemctl show -P ExecStart keepalived.service");
    const binary = /path=(\S+)/.exec(execStart)?.[1] ?? "";
    return { pid, exe: await sh(`readlink /proc/${pid}/exe`), binary, resolved: await sh(`realpath ${binary}`), active: await sh("systemctl is-active keepalived.service || true") };
  };
  const vipHeld = async () => (await sh("ip -o -4 addr show dev eth0")).includes(` ${VIP}/24 `);
  const buildOf = (r: CliRun) => ofType(r.events, "task.result").find((e) => e.task === BUILD_TASK && !e.handler);

  before(async () => {
    // The lab first: it builds the base when LVSLAB_DIR has none, and the .debs are what that base lacks.
    lab = await Lab.up({ hosts: [DIRECTOR] });
    const t0 = performance.now();
    const debs = baseMissingDebs(BUILD_PACKAGES);
    const src = debianSourceTarball("keepalived");
    tarball = src;
    note(`cache: ${debs.files.length} .debs in ${debs.dir}; ${src.path} (${src.fetched ? "fetched now" : "cached"}, sha256 ${src.sha256}) in ${Math.round(performance.now() - t0)} ms`);
    VIP = lab.freeAddress(0);
    const source = writeFlatRepo(lab.host(DIRECTOR).root, REPO, debs);
    // Only the flat repository; the base's sources (a mirror the lab cannot reach) moved aside and
    // its lists emptied, as on a freshly imaged host: the package task refreshes them itself.
    await lab.execOk(
      DIRECTOR,
      "set -e; mkdir -p /root/apt-sources-aside; mv /etc/apt/sources.list /root/apt-sources-aside/ 2>/dev/null || true; " +
        "find /etc/apt/sources.list.d -mindepth 1 -maxdepth 1 -exec mv -t /root/apt-sources-aside/ {} +; " +
        `printf '%s' '${source}' > /etc/apt/sources.list.d/lvslab.list; ` +
        "find /var/lib/apt/lists -maxdepth 1 -type f ! -name lock -delete; rm -f /var/cache/apt/*.bin",
    );
    assert.notEqual((await lab.exec(DIRECTOR, "command -v gcc")).code, 0, "a fresh lab host has no compiler");
  });
  after(async () => {
    await lab?.down();
  });

  let firstDir = "";
  let firstPid = "";

  test("first deploy: built under the prefix, config under the sysconfdir, the unit runs the build, MASTER with the VIP", async () => {
    const r = await deploy(OPTIONS_A);
    assert.equal(r.code, 0, describeRun(r));
    const deps = ofType(r.events, "task.result").find((e) => e.task === DEPS_TASK)!;
    assert.equal(deps.status, "changed", deps.reason);
    note(`build dependencies (apt-get update + install from the flat repository): ${(deps.ms / 1000).toFixed(1)} s`);
    const build = buildOf(r)!;
    assert.equal(build.status, "changed", build.reason);
    assert.ok(build.steps.some((s) => s.startsWith(`./configure --prefix=${PREFIX}/keepalived-${tarball.version}-`) && s.includes(`--sysconfdir=${SYSCONFDIR} --disable-lvs CFLAGS=-O0`)), build.steps.join("\n"));
    // A VRRP-only director: no IPVS module task ran.
    assert.equal(ofType(r.events, "task.result").find((e) => e.task === "IPVS modules")?.status, "skipped");

    firstDir = await sh(`readlink ${LINK}`);
    assert.match(firstDir, new RegExp(`^keepalived-${tarball.version.replace(/\./g, "\\.")}-[0-9a-f]{12}$`));
    const stamp = JSON.parse(await sh(`cat ${PREFIX}/${firstDir}/.lvsctl-build`)) as { configureOptions: string[]; tarballSha256: string; sysconfdir: string };
    assert.deepEqual([stamp.configureOptions, stamp.tarballSha256, stamp.sysconfdir], [OPTIONS_A, tarball.sha256, SYSCONFDIR]);
    assert.match(await sh(`cat ${CONF}`), /vrrp_instance VI_1 \{/);
    assert.equal((await lab.exec(DIRECTOR, "test -e /etc/keepalived/keepalived.conf")).code, 1, "nothing at the package's path");

    const k = await running();
    assert.equal(k.active, "active");
    assert.equal(k.binary, `${LINK}/sbin/keepalived`, "the unit runs the build through the link");
    assert.equal(k.resolved, `${PREFIX}/${firstDir}/sbin/keepalived`);
    assert.equal(k.exe, `${PREFIX}/${firstDir}/sbin/keepalived`, "the running keepalived is the build's binary");
    const version = await sh(`${k.exe} --version 2>&1`);
    assert.match(version, /--disable-lvs/, version);
    note(`running: pid ${k.pid}, /proc/${k.pid}/exe -> ${k.exe}; ${version.split("\n").find((l) => /configure options/i.test(l))?.trim() ?? ""}`);
    assert.ok(await vipHeld(), "the VIP is on eth0");
    assert.match(await sh("journalctl -u keepalived.service -o cat --no-pager"), /\(VI_1\) Entering MASTER STATE/);
    firstPid = k.pid;
  });

  test("second deploy: nothing built, nothing changed, the same keepalived", async () => {
    const r = await deploy(OPTIONS_A);
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(changedTasks(r.events), []);
    const build = buildOf(r)!;
    assert.deepEqual([build.status, build.steps], ["ok", []], build.reason);
    const k = await running();
    assert.deepEqual([k.pid, k.exe], [firstPid, `${PREFIX}/${firstDir}/sbin/keepalived`]);
    assert.ok(await vipHeld());
  });

  let secondDir = "";
  test("another configure option: a second build beside the first, the link flips, keepalived restarted on the new binary", async () => {
    const r = await deploy(OPTIONS_B);
    assert.equal(r.code, 0, describeRun(r));
    const build = buildOf(r)!;
    assert.equal(build.status, "changed");
    assert.match(build.reason, /configure options \[--disable-lvs CFLAGS=-O0\] -> \[--disable-lvs CFLAGS=-O0 --disable-snmp\]/);
    assert.ok(build.steps.some((s) => s.startsWith("./configure")), "it built");
    secondDir = await sh(`readlink ${LINK}`);
    assert.notEqual(secondDir, firstDir);
    assert.equal((await lab.exec(DIRECTOR, `test -f ${PREFIX}/${firstDir}/.lvsctl-build`)).code, 0, "the first build stays (the rollback target)");
    assert.ok(ofType(r.events, "task.result").some((e) => e.task === "restart keepalived" && e.status === "changed"), "restarted");
    const k = await running();
    assert.notEqual(k.pid, firstPid);
    assert.equal(k.exe, `${PREFIX}/${secondDir}/sbin/keepalived`);
    assert.match(await sh(`${k.exe} --version 2>&1`), /--disable-snmp/);
    assert.ok(await vipHeld(), "MASTER again after the restart (the gate waited for it)");
  });

  test("back to the first options: no build, the link flips back, keepalived restarted on the first binary", async () => {
    const before = await running();
    const r = await deploy(OPTIONS_A);
    assert.equal(r.code, 0, describeRun(r));
    const build = buildOf(r)!;
    assert.equal(build.status, "changed");
    assert.match(build.reason, /is built already: no rebuild, only the link flips/);
    assert.ok(!build.steps.some((s) => s.startsWith("./configure") || s.startsWith("make -j") || s === "make install"), build.steps.join("\n"));
    assert.equal(await sh(`readlink ${LINK}`), firstDir);
    const k = await running();
    assert.notEqual(k.pid, before.pid);
    assert.equal(k.exe, `${PREFIX}/${firstDir}/sbin/keepalived`);
    assert.ok(await vipHeld());
  });
});
