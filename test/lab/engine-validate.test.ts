// A validate command that rejects the new file keeps the old one in place, end to end on lab
// hosts over SSH: the executor (runPlaybook, there is no CLI command for an arbitrary playbook)
// runs test/fixtures/lab-engine/validate.yml, whose `file:` task writes through
// `validate: ... %s`. Checked with lab.exec: content, mode, no temp file left beside it, and no
// handler run for a file that was not replaced.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Lab, labPrerequisites } from "../../src/lab/index.js";
import { loadInventory } from "../../src/inventory/index.js";
import { countStatus, ofType, runLabPlaybook, writeLabInventory } from "./helpers/index.js";

const why = labPrerequisites();
const PLAYBOOK = fileURLToPath(new URL("../fixtures/lab-engine/validate.yml", import.meta.url));
const PATH = "/etc/lvsctl-validate-test.conf";
const RS = ["r1", "r2"];

describe("engine: validate", { skip: why ?? false, timeout: 180_000 }, () => {
  let lab: Lab;
  let inv: string;
  before(async () => {
    lab = await Lab.up({ hosts: ["d1", ...RS] });
    inv = writeLabInventory(lab, { directors: ["d1"], realservers: RS });
  });
  after(async () => {
    await lab?.down();
  });

  const apply = async (content: string, validate: string) => {
    const loaded = await loadInventory(inv);
    assert.ok(loaded.ok, JSON.stringify(loaded.diagnostics));
    return runLabPlaybook(lab, loaded.cluster!, PLAYBOOK, { vars: { app_content: content, app_validate: validate } });
  };
  const state = async (h: string) => {
    const r = await lab.execOk(h, `cat ${PATH}; echo "|$(stat -c %a ${PATH})|$(ls -a /etc | grep -c lvsctl-tmp || true)|$(test -e /run/lvsctl-validate-test.notified && echo notified)"`);
    return r;
  };

  test("an accepted file is written; a rejected one leaves the old file, no temp, no handler", async () => {
    const ok = await apply("version=1\n", "grep -q '^version=' %s");
    assert.equal(ok.exitCode, 0, JSON.stringify(ofType(ok.events, "task.result")));
    for (const h of RS) {
      assert.equal(countStatus(ok.events, h).changed, 2, "file changed and its handler ran");
      assert.equal(await state(h), "version=1\n|640|0|notified\n");
      await lab.execOk(h, "rm /run/lvsctl-validate-test.notified");
    }

    const always = await apply("version=2\n", "sh -c 'exit 1' %s");
    assert.equal(always.exitCode, 2, "a task failed");
    for (const h of RS) {
      const res = ofType(always.events, "task.result").filter((e) => e.host === h);
      assert.deepEqual(res.map((e) => `${e.task}:${e.status}`), ["app config:failed"], "failed, and no handler ran");
      assert.match(res[0]!.reason, /validate/i);
      assert.equal(await state(h), "version=1\n|640|0|\n", `${h} keeps the old file`);
    }

    const realCheck = await apply("garbage\n", "grep -q '^version=' %s");
    assert.equal(realCheck.exitCode, 2);
    for (const h of RS) assert.equal(await state(h), "version=1\n|640|0|\n", `${h} keeps the old file after a real check rejects`);

    const again = await apply("version=1\n", "sh -c 'exit 1' %s");
    assert.equal(again.exitCode, 0, "same content: nothing to upload, so the validator is not run");
    assert.equal(countStatus(again.events).changed, 0);
  });
});
