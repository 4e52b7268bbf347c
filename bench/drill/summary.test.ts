// bench/drill's pure part. Run: node --import tsx --test bench/drill/summary.test.ts
import { test } from "node:test";
import assert from "node:assert/strict";
import { cellOf, countEstablished, parseSampleLog, syncedLongLived, formatTable, GAP_SLACK_MS, linesOf, parseDaemons, summarizeSamples, targets, worseThan, type DrillRun, type StepFigures } from "./summary.js";

const step = (director: string, gapMs: number, failed: number, survived: number, opened = 4): StepFigures => ({ director, pass: true, gapMs, sent: 100, failed, held: { opened, survived, notes: [] }, failures: [] });
const run = (backend: DrillRun["backend"], sync: boolean, mode: DrillRun["mode"], steps: StepFigures[], pass = true): DrillRun => ({ backend, sync, mode, code: pass ? 0 : 1, ms: 60_000, pass, steps });

test("a cell: the worst gap, failed and held summed over the steps", () => {
  assert.deepEqual(cellOf(run("lvsd", false, "kill", [step("lb1", 3400, 12, 0), step("lb2", 0, 0, 4)])), { gapMs: 3400, failed: 12, sent: 200, held: { opened: 8, survived: 4 }, pass: true });
  const none = { ...run("lvsd", false, "kill", []), error: "no report" };
  assert.equal(cellOf(none).gapMs, null);
});

test("no worse: gap within one client interval, no more failures, no fewer survivors", () => {
  const ka = cellOf(run("keepalived", false, "stop", [step("lb1", 700, 3, 0)]));
  assert.deepEqual(worseThan(cellOf(run("lvsd", false, "stop", [step("lb1", 700 + GAP_SLACK_MS, 3, 0)])), ka), []);
  assert.deepEqual(worseThan(cellOf(run("lvsd", false, "stop", [step("lb1", 801, 4, 0)])), ka), ["gap 801 ms against keepalived's 700 ms", "4 failed requests against keepalived's 3"]);
  const kaHeld = cellOf(run("keepalived", true, "stop", [step("lb1", 700, 3, 4)]));
  assert.deepEqual(worseThan(cellOf(run("lvsd", true, "stop", [step("lb1", 600, 2, 3)])), kaHeld), ["3/4 long-lived connections survived against keepalived's 4/4"]);
});

test("lines: sync off first, then on; the sync-stop line says whether every held connection survived", () => {
  const runs = [
    run("keepalived", false, "stop", [step("lb1", 700, 3, 0), step("lb2", 0, 0, 4)]),
    run("lvsd", false, "stop", [step("lb1", 650, 2, 0), step("lb2", 0, 0, 4)]),
    run("keepalived", true, "stop", [step("lb1", 700, 3, 4), step("lb2", 0, 0, 4)]),
    run("lvsd", true, "stop", [step("lb1", 650, 2, 3), step("lb2", 0, 0, 4)]),
    run("lvsd", true, "kill", [step("lb1", 3650, 30, 4), step("lb2", 0, 0, 4)], false),
  ];
  const lines = linesOf(runs, ["stop", "kill", "link"]);
  assert.deepEqual(lines.map((l) => `${l.sync ? "on" : "off"} ${l.mode}`), ["off stop", "on stop", "on kill"]);
  assert.equal(lines[0]!.lvsdNoWorse, true);
  assert.equal(lines[0]!.allHeldSurvived, undefined);
  assert.equal(lines[1]!.lvsdNoWorse, false);
  assert.deepEqual(lines[1]!.allHeldSurvived, { keepalived: true, lvsd: false });
  assert.equal(lines[2]!.lvsdNoWorse, undefined, "keepalived did not run that line: not judged");
  assert.deepEqual(targets(lines), { lvsdNoWorseEverywhere: false, syncStopAllSurvive: { keepalived: true, lvsd: false } });
  const table = formatTable(lines).split("\n");
  assert.match(table[0]!, /^sync\s+mode\s+keepalived\s+lvsd\s+lvsd no worse$/);
  assert.match(table[1]!, /^off\s+stop\s+700 ms 3\/200 4\/8\s+650 ms 2\/200 4\/8\s+yes$/);
  assert.match(table[2]!, /NO: 7\/8 long-lived connections survived against keepalived's 8\/8$/);
  assert.match(table[3]!, /not run\s+3650 ms 30\/200 8\/8 FAIL\s+-$/);
});

test("sync daemons and ESTABLISHED entries, as ipvsadm prints them", () => {
  assert.deepEqual(parseDaemons("master sync daemon (mcast=eth0, syncid=62)\nbackup sync daemon (mcast=eth0, syncid=62)\n"), ["backup", "master"]);
  assert.deepEqual(parseDaemons(""), []);
  const lnc = [
    "IPVS connection entries",
    "pro expire state       source             virtual            destination",
    "TCP 14:59  ESTABLISHED 10.78.3.1:40112    10.78.3.200:80     10.78.3.201:80",
    "TCP 14:58  ESTABLISHED 10.78.3.1:40114    10.78.3.200:80     10.78.3.202:80",
    "TCP 01:57  TIME_WAIT   10.78.3.1:40116    10.78.3.200:80     10.78.3.201:80",
    "TCP 14:59  ESTABLISHED 10.78.3.1:40118    10.78.3.200:8080   10.78.3.201:80",
  ].join("\n");
  assert.equal(countEstablished(lnc, "10.78.3.200", 80), 2);
  const s = summarizeSamples([
    { t: 0, director: "lb1", daemons: ["master"], established: 4 },
    { t: 0, director: "lb2", daemons: ["backup"], established: 0 },
    { t: 2000, director: "lb1", daemons: null, established: null },
    { t: 2000, director: "lb2", daemons: ["master"], established: 4 },
    { t: 4000, director: "lb1", daemons: ["backup"], established: 4 },
    { t: 6000, director: "lb1", daemons: ["master"], established: 4 },
  ]);
  assert.deepEqual(s, { lb1: { daemons: "master -> backup -> master", maxEstablished: 4, unreachable: 1 }, lb2: { daemons: "backup -> master", maxEstablished: 4, unreachable: 0 } });
});

test("the directors' sample loop: sync daemons, ESTABLISHED client ports, and what sync carried", () => {
  const log = (at: number, daemon: string, ports: number[]) =>
    `@@sample ${at}\n${daemon ? `${daemon} sync daemon (mcast=eth0, syncid=62)\n` : ""}@@conns\n${ports.map((p) => `TCP 14:59  ESTABLISHED 10.78.3.1:${p} 10.78.3.200:80 10.78.3.201:80`).join("\n")}\n`;
  const lb1 = parseSampleLog(log(1000, "master", [40001, 40002]) + "@@state TIME_WAIT 7\n@@state ESTABLISHED 2\n" + log(2000, "master", [40001, 40002, 40100]) + log(3000, "", [40001, 40002]) + "@@sample 4000\n", "lb1", "10.78.3.200", 80, 1000);
  assert.deepEqual(lb1.map((s) => [s.t, s.daemons, s.ports]), [[0, ["master"], [40001, 40002]], [1000, ["master"], [40001, 40002, 40100]], [2000, [], [40001, 40002]]]);
  assert.deepEqual(lb1[0]!.states, { TIME_WAIT: 7, ESTABLISHED: 2 });
  assert.equal(lb1[1]!.states, undefined);
  const lb2 = parseSampleLog(log(1500, "backup", [40001]), "lb2", "10.78.3.200", 80, 1000);
  assert.deepEqual(syncedLongLived([...lb1, ...lb2]), { lb1: { longLived: 2, seenOn: { lb2: 1 } }, lb2: { longLived: 0, seenOn: { lb1: 0 } } });
});
