import { test } from "node:test";
import assert from "node:assert/strict";
import { batches, selectHosts, taskSelected } from "../../../src/run/select.js";
import type { Task } from "../../../src/run/playbook.js";
import { labCluster } from "../../fixtures/plan/clusters.js";

test("batches: counts, percentages (rounded down, at least 1), lists whose last entry repeats", () => {
  const h = ["a", "b", "c", "d", "e"];
  assert.deepEqual(batches(h), [h]);
  assert.deepEqual(batches(h, [2]), [["a", "b"], ["c", "d"], ["e"]]);
  assert.deepEqual(batches(h, ["40%"]), [["a", "b"], ["c", "d"], ["e"]]);
  assert.deepEqual(batches(h, ["10%"]), [["a"], ["b"], ["c"], ["d"], ["e"]]);
  assert.deepEqual(batches(h, [1, "100%"]), [["a"], ["b", "c", "d", "e"]]);
  assert.deepEqual(batches([], [2]), []);
});

test("selectHosts: groups, globs, exclusions, inventory order", () => {
  const c = labCluster();
  assert.deepEqual(selectHosts(c, ["realservers"]), ["rs1", "rs2", "rs3"]);
  assert.deepEqual(selectHosts(c, ["all"], "rs*,!rs2"), ["rs1", "rs3"]);
  assert.deepEqual(selectHosts(c, ["all"], "!directors"), ["rs1", "rs2", "rs3"]);
  assert.deepEqual(selectHosts(c, ["rs3", "ds1"]), ["ds1", "rs3"]);
  assert.throws(() => selectHosts(c, ["nosuch"]), /LVS755|neither a host nor a group/);
});

test("tags: always, never, skip", () => {
  const t = (tags: string[]): Task => ({ name: "x", op: "command", args: "true", tags, notify: [] });
  assert.equal(taskSelected(t([])), true);
  assert.equal(taskSelected(t(["a"]), ["b"]), false);
  assert.equal(taskSelected(t(["always"]), ["b"]), true);
  assert.equal(taskSelected(t(["always"]), [], ["always"]), false);
  assert.equal(taskSelected(t(["never", "debug"])), false);
  assert.equal(taskSelected(t(["never", "debug"]), ["debug"]), true);
  assert.equal(taskSelected(t(["a"]), [], ["a"]), false);
});
