// Playbook semantics on real hosts over SSH (runPlaybook: no CLI command runs an arbitrary
// playbook), with test/fixtures/lab-engine/serial.yml: `serial: 1` runs the hosts one batch at a
// time in inventory order; a failed task stops that host, yet the handler its earlier change
// notified still runs (force_handlers); `max_fail_percentage: 0` then stops the remaining batches,
// so a later host is never touched; the exit code says a task failed.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Lab, labPrerequisites } from "../../src/lab/index.js";
import { loadInventory } from "../../src/inventory/index.js";
import { ofType, runLabPlaybook, writeLabInventory } from "./helpers/index.js";

const why = labPrerequisites();
const PLAYBOOK = fileURLToPath(new URL("../fixtures/lab-engine/serial.yml", import.meta.url));
const RS = ["r1", "r2", "r3"];

describe("engine: serial, max_fail_percentage, handlers after a failure", { skip: why ?? false, timeout: 180_000 }, () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.up({ hosts: ["d1", ...RS] });
  });
  after(async () => {
    await lab?.down();
  });

  test("the failing batch runs its handler and stops the later batches", async () => {
    const loaded = await loadInventory(writeLabInventory(lab, { directors: ["d1"], realservers: RS }));
    assert.ok(loaded.ok, JSON.stringify(loaded.diagnostics));
    const { events, ...r } = await runLabPlaybook(lab, loaded.cluster!, PLAYBOOK, { vars: { fail_on: "r2" } });
    assert.equal(r.exitCode, 2, "a task failed");
    assert.deepEqual(ofType(events, "batch.started").map((e) => e.hosts), [["r1"], ["r2"]], "one host per batch; r3's batch never started");
    assert.equal(ofType(events, "play.aborted").length, 1);
    assert.match(ofType(events, "play.aborted")[0]!.reason, /max_fail_percentage 0%/);
    const on = (h: string) => ofType(events, "task.result").filter((e) => e.host === h).map((e) => `${e.handler ? "handler " : ""}${e.task}:${e.status}`);
    assert.deepEqual(on("r1"), ["marker file:changed", "health check:changed", "after the check:changed", "handler marker changed:changed"]);
    assert.deepEqual(on("r2"), ["marker file:changed", "health check:failed", "handler marker changed:changed"], "r2 stops at the failure but its handler runs");
    assert.deepEqual(on("r3"), []);
    const state = async (h: string) => (await lab.execOk(h, "for f in /etc/lvsctl-serial-test.conf /run/lvsctl-serial-test.handled /run/lvsctl-serial-test.after; do test -e $f && echo $f; done; true")).trim().split("\n").filter(Boolean);
    assert.deepEqual(await state("r1"), ["/etc/lvsctl-serial-test.conf", "/run/lvsctl-serial-test.handled", "/run/lvsctl-serial-test.after"]);
    assert.deepEqual(await state("r2"), ["/etc/lvsctl-serial-test.conf", "/run/lvsctl-serial-test.handled"]);
    assert.deepEqual(await state("r3"), [], "r3 was never touched");
  });
});
