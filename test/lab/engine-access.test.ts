// How the engine reaches hosts, end to end through the CLI on lab hosts: sudo with a password
// (taken from {env: ...}, never shown in any output: plain, --diff, --json), SSH password login,
// a jump host for a host this machine cannot reach, and a host that is down (reported
// unreachable, exit 3) while the others finish.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Lab, labPrerequisites } from "../../src/lab/index.js";
import { BOOTSTRAP_TASKS, CHANGED_ON_FRESH_HOST, changedTasks, countStatus, describeRun, freshChanges, finished, ofType, runCli, snapshotHost, writeLabInventory } from "./helpers/index.js";

const why = labPrerequisites();
const PW_ENV = "LVSCTL_LAB_BECOME_PW";

describe("engine: sudo password, jump host, host down", { skip: why ?? false, timeout: 300_000 }, () => {
  let lab: Lab;
  const run = (inv: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) => runCli(["bootstrap", inv, "--known-hosts", lab.knownHostsFile, ...extra], { env });

  before(async () => {
    lab = await Lab.up({ hosts: ["d1", "r1", "r2", "r3", "r4"] });
  });
  after(async () => {
    await lab?.down();
  });

  test("sudo with a password from the environment; the password never appears in output", async () => {
    const pw = lab.pwUser.password;
    const inv = writeLabInventory(lab, {
      directors: ["d1"],
      realservers: ["r1", "r2"],
      // r1 logs in with the key, r2 with the password (no key given for it)
      defaults: { user: lab.pwUser.name, become: { password: { env: PW_ENV } }, key_file: undefined },
      hostSettings: { r1: { key_file: lab.keyFile }, r2: { password: { env: PW_ENV } } },
    });
    const env = { [PW_ENV]: pw };
    const outputs: string[] = [];
    const check = await run(inv, ["--check", "--diff", "--verbose"], env);
    outputs.push(check.stdout, check.stderr);
    assert.equal(check.code, 0, describeRun(check));
    assert.match(check.stdout, /r1/, "plain output names the hosts");

    const first = await run(inv, ["--json", "--diff"], env);
    outputs.push(first.stdout, first.stderr);
    assert.equal(first.code, 0, describeRun(first));
    assert.deepEqual(changedTasks(first.events), freshChanges(["r1", "r2"]), describeRun(first));
    assert.ok(ofType(first.events, "task.result").some((e) => e.diff), "--diff put diffs in the events");

    const second = await run(inv, ["--json", "--diff"], env);
    outputs.push(second.stdout, second.stderr);
    assert.equal(second.code, 0, describeRun(second));
    assert.equal(countStatus(second.events).changed, 0);
    for (const h of ["r1", "r2"]) assert.equal((await snapshotHost(lab, h)).unitEnabled, "enabled", `${h}: the root-only work was done through sudo`);
    const auth = await lab.exec("r2", "journalctl -u ssh.service --no-pager -o cat | grep -c 'Accepted password for pwuser'");
    assert.ok(Number(auth.stdout.trim()) >= 3, `r2's sshd logged password logins: ${auth.stdout}${auth.stderr}`);
    console.log(`# sudo password: --check ${Math.round(check.ms)} ms, first ${Math.round(first.ms)} ms, second ${Math.round(second.ms)} ms`);

    // A wrong password fails that host, and the wrong password is not shown either.
    const wrong = "Wr0ng-" + pw.split("").reverse().join("");
    const bad = await run(inv, ["--json", "--limit", "r1"], { [PW_ENV]: wrong });
    outputs.push(bad.stdout, bad.stderr);
    assert.notEqual(bad.code, 0, describeRun(bad));
    console.log(`# wrong sudo password: exit ${bad.code} after ${Math.round(bad.ms)} ms`);
    assert.ok(!bad.stdout.includes(wrong) && !bad.stderr.includes(wrong), "the wrong password is not shown");
    const fail = [...ofType(bad.events, "task.result").filter((e) => e.status === "failed").map((e) => e.reason), ...ofType(bad.events, "host.unreachable").map((e) => e.error)];
    assert.ok(fail.length > 0 && fail.some((m) => /sudo|password/i.test(m)), `the failure says sudo/password: ${fail.join(" | ")}`);

    for (const [i, o] of outputs.entries()) assert.ok(!o.includes(pw), `output ${i} contains the sudo password`);
    // No password was passed on a command line either (visible in ps): the CLI got it from env only.
  });

  test("a jump host reaches a host this machine cannot", async () => {
    await lab.setControllerReachable("r3", false);
    const direct = writeLabInventory(lab, { directors: ["d1"], realservers: ["r3"], defaults: { connect_timeout: 3 } });
    const refused = await run(direct, ["--json"]);
    assert.equal(refused.code, 3, `r3 must be unreachable without the jump host: ${describeRun(refused)}`);

    const viaJump = writeLabInventory(lab, { directors: ["d1"], realservers: ["r3"], hostSettings: { r3: { jump: ["d1"] } } });
    const first = await run(viaJump, ["--json"]);
    assert.equal(first.code, 0, describeRun(first));
    assert.deepEqual(changedTasks(first.events), freshChanges(["r3"]));
    const second = await run(viaJump, ["--json"]);
    assert.equal(second.code, 0, describeRun(second));
    assert.equal(countStatus(second.events, "r3").changed, 0);
    const snap = await snapshotHost(lab, "r3");
    assert.equal(snap.unitActive, "active");
    assert.match(snap.lo, new RegExp(`inet ${lab.freeAddress(0).replace(/\./g, "\\.")}/32 `));
  });

  test("a host that is down is reported unreachable while the others finish (exit 3)", async () => {
    await lab.stop("r4");
    const inv = writeLabInventory(lab, { directors: ["d1"], realservers: ["r1", "r2", "r3", "r4"], hostSettings: { r3: { jump: ["d1"] } } });
    const r = await run(inv, ["--json"]);
    assert.equal(r.code, 3, describeRun(r));
    const un = ofType(r.events, "host.unreachable");
    assert.deepEqual(un.map((e) => e.host), ["r4"]);
    assert.match(un[0]!.error, /r4|10\.77\./, "the error names the host");
    const recap = finished(r.events)!.recap;
    assert.equal(recap.r4!.unreachable, 1);
    for (const h of ["r1", "r2", "r3"]) {
      assert.deepEqual({ ...recap[h]!, ok: 0 }, { ok: 0, changed: 0, failed: 0, unreachable: 0, skipped: 0, warnings: 0 }, `${h} finished`);
      assert.equal(recap[h]!.ok, BOOTSTRAP_TASKS.length);
    }
  });
});
