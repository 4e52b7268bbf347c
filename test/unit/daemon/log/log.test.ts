import { test } from "node:test";
import assert from "node:assert/strict";
import { journalLine } from "../../../../src/daemon/log.js";

const rec = (level: "debug" | "info" | "warn" | "error") => ({ ts: "2026-01-01T00:00:00.000Z", level, msg: "m" });

test("under the journal each line carries its syslog priority (sd-daemon(3))", () => {
  assert.equal(journalLine(rec("error"), true), '<3>{"ts":"2026-01-01T00:00:00.000Z","level":"error","msg":"m"}\n');
  assert.match(journalLine(rec("warn"), true), /^<4>\{/);
  assert.match(journalLine(rec("info"), true), /^<6>\{/);
  assert.match(journalLine(rec("debug"), true), /^<7>\{/);
});

test("outside the journal lines are plain JSON", () => {
  const line = journalLine(rec("error"), false);
  assert.deepEqual(JSON.parse(line), rec("error"));
});
