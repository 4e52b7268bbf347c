// The playbook engine end to end through the real CLI (`node bin/lvsctl.js bootstrap --json`) on
// lab hosts: `--check` changes nothing on any host yet reports what would change, a first run
// changes things, a second run reports zero changes, `--check` after a change of inventory again
// plans without touching the hosts, and --limit / --tags run only the chosen hosts and tasks.
// Hosts are checked with lab.exec (no SSH), comparing sha256 of the managed files,
// `ip -o addr show lo`, the ARP sysctls and the unit's state.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Lab, labPrerequisites } from "../../src/lab/index.js";
import { ARP_SYSCTLS, BOOTSTRAP_TASKS, CHANGED_ON_FRESH_HOST, changedTasks, countStatus, describeRun, freshChanges, finished, ofType, runCli, snapshotHost, TASK, writeLabInventory, type HostSnapshot } from "./helpers/index.js";

const why = labPrerequisites();
const RS = ["r1", "r2", "r3"];

describe("engine: converge, --check, second run", { skip: why ?? false, timeout: 240_000 }, () => {
  let lab: Lab;
  let inv: string;
  const bootstrap = (extra: string[] = [], file = inv) => runCli(["bootstrap", file, "--known-hosts", lab.knownHostsFile, "--json", ...extra]);
  const snapshots = async () => Object.fromEntries(await Promise.all(RS.map(async (h) => [h, await snapshotHost(lab, h)] as const))) as Record<string, HostSnapshot>;

  before(async () => {
    lab = await Lab.up({ hosts: ["d1", ...RS] });
    inv = writeLabInventory(lab, { directors: ["d1"], realservers: RS });
  });
  after(async () => {
    await lab?.down();
  });

  test("--check on fresh hosts reports the changes and changes nothing", async () => {
    const beforeSnap = await snapshots();
    for (const s of Object.values(beforeSnap)) assert.equal(s.files["/etc/systemd/system/lvs-rs-vip.service"], "absent", "a fresh host has no VIP unit");
    const r = await bootstrap(["--check", "--diff"]);
    assert.equal(r.code, 0, describeRun(r));
    const results = ofType(r.events, "task.result");
    assert.ok(results.every((e) => e.check), "every result is marked check");
    for (const h of RS) {
      const c = countStatus(r.events, h);
      assert.equal(c.failed, 0, describeRun(r));
      assert.equal(c.changed, CHANGED_ON_FRESH_HOST.length, `${h}: ${JSON.stringify(c)}`);
      const vip = results.find((e) => e.host === h && e.task === TASK.vip)!;
      assert.match(vip.reason, new RegExp(`add ${lab.freeAddress(0).replace(/\./g, "\\.")}/32 on lo`));
      assert.ok(vip.steps.some((s) => s.includes("ip addr replace")), vip.steps.join("; "));
      assert.match(vip.diff ?? "", /\+ExecStart=\/sbin\/ip addr replace/, "--diff shows the unit that would be written");
    }
    assert.deepEqual(await snapshots(), beforeSnap, "--check must not change any host");
  });

  test("a first run changes things, a second run reports zero changes", async () => {
    const first = await bootstrap();
    assert.equal(first.code, 0, describeRun(first));
    const c1 = countStatus(first.events);
    assert.equal(c1.failed, 0);
    assert.deepEqual(changedTasks(first.events), freshChanges(RS));
    assert.equal(finished(first.events)?.exitCode, 0);

    const second = await bootstrap();
    assert.equal(second.code, 0, describeRun(second));
    const c2 = countStatus(second.events);
    assert.deepEqual({ changed: c2.changed, failed: c2.failed }, { changed: 0, failed: 0 }, describeRun(second));
    assert.equal(c2.ok, BOOTSTRAP_TASKS.length * RS.length);
    for (const h of RS) assert.deepEqual(finished(second.events)?.recap[h], { ok: BOOTSTRAP_TASKS.length, changed: 0, failed: 0, unreachable: 0, skipped: 0, warnings: 0 });
    const snap = await snapshots();
    for (const h of RS) {
      assert.match(snap[h]!.lo, new RegExp(`inet ${lab.freeAddress(0).replace(/\./g, "\\.")}/32 `), `${h} holds the VIP on lo`);
      assert.deepEqual(snap[h]!.sysctls, ARP_SYSCTLS, `${h}: ARP sysctls live`);
    }
    console.log(`# 3 real servers: first run ${Math.round(first.ms)} ms, no-change run ${Math.round(second.ms)} ms (CLI wall time)`);
  });

  test("--check after an inventory change reports it and still changes nothing", async () => {
    const vip2 = lab.freeAddress(1);
    const inv2 = writeLabInventory(lab, {
      directors: ["d1"],
      realservers: RS,
      services: [
        { vip: lab.freeAddress(0), real_servers: RS },
        { vip: vip2, port: 443, real_servers: ["r1"] },
      ],
    });
    const beforeSnap = await snapshots();
    const r = await bootstrap(["--check"], inv2);
    assert.equal(r.code, 0, describeRun(r));
    const changed = ofType(r.events, "task.result").filter((e) => e.status === "changed");
    assert.deepEqual(changed.map((e) => `${e.host}:${e.task}`), [`r1:${TASK.vip}`], "only r1 gains a VIP");
    assert.match(changed[0]!.reason, new RegExp(`add ${vip2.replace(/\./g, "\\.")}/32 on lo`));
    assert.deepEqual(await snapshots(), beforeSnap, "--check must not change any host");
  });

  test("--limit and --tags: only the chosen hosts and tasks run", async () => {
    const vip2 = lab.freeAddress(1);
    const inv2 = writeLabInventory(lab, {
      directors: ["d1"],
      realservers: RS,
      services: [
        { vip: lab.freeAddress(0), real_servers: RS },
        { vip: vip2, port: 443, real_servers: ["r1", "r2"] },
      ],
    });
    const beforeSnap = await snapshots();
    const sysctlOnly = await bootstrap(["--limit", "r1", "--tags", "sysctl"], inv2);
    assert.equal(sysctlOnly.code, 0, describeRun(sysctlOnly));
    const res = ofType(sysctlOnly.events, "task.result");
    assert.deepEqual([...new Set(res.map((e) => e.host))], ["r1"], "only r1 ran");
    assert.deepEqual(res.map((e) => e.task), [TASK.sysctl], "only the sysctl-tagged task ran");
    assert.deepEqual(await snapshots(), beforeSnap, "r1's new VIP waits for a run with the vip tag");

    const vipOnly = await bootstrap(["--limit", "r1,r3", "--tags", "vip"], inv2);
    assert.equal(vipOnly.code, 0, describeRun(vipOnly));
    assert.deepEqual(changedTasks(vipOnly.events), [`r1:${TASK.vip}`]);
    assert.deepEqual([...new Set(ofType(vipOnly.events, "task.result").map((e) => e.host))].sort(), ["r1", "r3"]);
    const after = await snapshots();
    assert.match(after.r1!.lo, new RegExp(`inet ${vip2.replace(/\./g, "\\.")}/32 `), "r1 gained the VIP");
    assert.deepEqual(after.r2, beforeSnap.r2, "r2 was left out by --limit, although it should gain the VIP too");
    assert.deepEqual(after.r3, beforeSnap.r3);
  });
});
