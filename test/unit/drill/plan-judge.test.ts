// The drill's pure parts: the plan (commands as values per mode, where the VIPs must be during
// and after each step), the gap and the judgement from request results, and the remote client's
// loop script and output.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderCommand } from "../../../src/command/index.js";
import { judgeStep, longestGap, loopLoad, parseRemoteLoad, planDrill, remoteLoadScript, type RequestResult, type StepObservation } from "../../../src/drill/index.js";
import { drillCluster, VirtualClock } from "./sim.js";

const words = (cmds: { cmd: unknown }[]) => cmds.map((c) => renderCommand(c.cmd as never));

test("plan, stop and kill: the daemon's unit by the backend; the holder's VIPs go to the best peer, and back to the highest priority", () => {
  const cluster = drillCluster();
  const steps = planDrill(cluster, { VI_web: ["ds1"] }, { mode: "stop", linkDownSec: 10, runId: "r" });
  assert.deepEqual(steps.map((s) => [s.director, s.holds, s.during, s.after]), [
    ["ds1", ["VI_web"], { VI_web: ["ds2"] }, { VI_web: ["ds1"] }],
    ["ds2", [], { VI_web: ["ds1"] }, { VI_web: ["ds1"] }],
  ]);
  assert.deepEqual(words(steps[0]!.down), ["systemctl stop keepalived.service"]);
  assert.deepEqual(words(steps[0]!.up), ["systemctl start keepalived.service"]);
  const kill = planDrill(cluster, { VI_web: ["ds1"] }, { mode: "kill", linkDownSec: 10, runId: "r", only: ["ds2"] });
  assert.deepEqual(kill.map((s) => s.director), ["ds2"]);
  // kill: systemd's restart held by a runtime drop-in first, removed again before the start.
  const dropIn = "/run/systemd/system/keepalived.service.d/lvsctl-drill-no-restart.conf";
  assert.deepEqual(words(kill[0]!.down), [
    `sh -c 'mkdir -p /run/systemd/system/keepalived.service.d && printf '\\''%s\\n'\\'' '\\''# lvsctl drill --mode kill: the daemon stays dead until the drill starts it; the drill removes this file'\\'' '\\''[Service]'\\'' Restart=no > ${dropIn}'`,
    "systemctl daemon-reload",
    "systemctl kill --signal=KILL keepalived.service",
  ]);
  assert.deepEqual(kill[0]!.down.map((c) => c.prepares ?? false), [true, true, false], "the step's clock starts at the kill");
  assert.deepEqual(words(kill[0]!.up), [`rm -f ${dropIn}`, "systemctl daemon-reload", "systemctl start keepalived.service"]);
  // What the first command writes, run by a real sh with the directory moved somewhere harmless.
  const tmp = mkdtempSync(join(tmpdir(), "drill-dropin-"));
  try {
    const script = (kill[0]!.down[0]!.cmd as { shell: string }).shell.replaceAll("/run/systemd/system", tmp);
    execFileSync("sh", ["-c", script]);
    assert.equal(readFileSync(join(tmp, "keepalived.service.d", "lvsctl-drill-no-restart.conf"), "utf8"), "# lvsctl drill --mode kill: the daemon stays dead until the drill starts it; the drill removes this file\n[Service]\nRestart=no\n");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  assert.equal(kill[0]!.mustMove, true);
  // crash: the same SIGKILL with systemd left to restart it; the VIPs need not move.
  const crash = planDrill(cluster, { VI_web: ["ds1"] }, { mode: "crash", linkDownSec: 10, runId: "r", only: ["ds1"] });
  assert.deepEqual([words(crash[0]!.down), words(crash[0]!.up), crash[0]!.mustMove, crash[0]!.during], [["systemctl kill --signal=KILL keepalived.service"], ["systemctl start keepalived.service"], false, { VI_web: ["ds2"] }]);
  const lvsd = planDrill({ ...cluster, backend: "lvsd" }, {}, { mode: "stop", linkDownSec: 10, runId: "r" });
  assert.deepEqual(words(lvsd[0]!.down), ["systemctl stop lvsd.service"]);
});

test("plan, nopreempt: after the step the VIPs stay where they went", () => {
  const steps = planDrill(drillCluster({ nopreempt: true }), { VI_web: ["ds1"] }, { mode: "stop", linkDownSec: 10, runId: "r" });
  assert.deepEqual(steps[0]!.after, { VI_web: ["ds2"] });
  assert.deepEqual(steps[1]!.after, { VI_web: ["ds1"] }, "ds2 was a backup: nothing moved");
});

test("plan, link: the way back is armed before the cut, each a timer on the director; the restore disarms both; names are quoted words", () => {
  const [s] = planDrill(drillCluster(), { VI_web: ["ds1"] }, { mode: "link", linkDownSec: 7, runId: "a b;c", only: ["ds1"] });
  assert.equal(s!.selfRestoreMs, 8000);
  assert.deepEqual(words(s!.down), [
    "systemd-run --collect --unit=lvsctl-drill-a_b_c-up-eth0 --on-active=8s --timer-property=AccuracySec=100ms ip link set dev eth0 up",
    "systemd-run --collect --unit=lvsctl-drill-a_b_c-down-eth0 --on-active=1s --timer-property=AccuracySec=100ms ip link set dev eth0 down",
  ]);
  assert.deepEqual(words(s!.up), ["systemctl stop lvsctl-drill-a_b_c-down-eth0.timer", "ip link set dev eth0 up", "systemctl stop lvsctl-drill-a_b_c-up-eth0.timer"]);
  assert.deepEqual(s!.up.map((c) => c.mayFail ?? false), [true, false, true]);
});

const rr = (spec: string, step = 100, dur = 10): RequestResult[] => [...spec].map((c, i) => ({ start: i * step, end: i * step + dur, ok: c === "." }));

test("gap: the longest run of failures, from the last answer before it to the first after it", () => {
  assert.equal(longestGap(rr("......")), undefined);
  assert.deepEqual(longestGap(rr("..xxx..x.")), { ms: 390, from: 110, to: 500, failed: 3, open: false });
  // Failing until the client stopped: open, ends at the stop.
  assert.deepEqual(longestGap(rr("..xx"), 1000), { ms: 890, from: 110, to: 1000, failed: 2, open: true });
  // Failing from the first request: from its start.
  assert.deepEqual(longestGap(rr("xx..")), { ms: 200, from: 0, to: 200, failed: 2, open: false });
});

const obs = (o: Partial<StepObservation> = {}): StepObservation => ({ director: "ds1", holds: ["VI_web"], movedMs: 700, backMs: 1500, finalHolders: { VI_web: ["ds1"] }, expectedAfter: { VI_web: ["ds1"] }, health: [], requests: rr("....xx...."), stoppedAt: 1000, errors: [], restored: true, ...o });

test("judge: limits, the VIP not moved, not where preemption says, not healthy, not restored", () => {
  const ok = judgeStep(obs(), { maxGapMs: 300, maxFailed: 2 });
  assert.deepEqual([ok.pass, ok.gapMs, ok.failed, ok.sent, ok.failures], [true, 290, 2, 10, []]);
  assert.deepEqual(judgeStep(obs(), { maxGapMs: 200, maxFailed: 1 }).failures, ["gap 290 ms is over --max-gap 200 ms", "2 failed request(s), over --max-failed 1"]);
  assert.deepEqual(judgeStep(obs({ movedMs: undefined }), {}).failures, ["the VIPs of VI_web did not move off ds1"]);
  assert.deepEqual(judgeStep(obs({ movedMs: undefined, mustMove: false }), {}).failures, [], "crash: a daemon back before a peer took over is no failure");
  assert.deepEqual(judgeStep(obs({ finalHolders: { VI_web: ["ds2"] } }), {}).failures, ["VI_web: held by ds2 after ds1 came back, expected ds1"]);
  assert.deepEqual(judgeStep(obs({ health: ["keepalived is not active on ds2"] }), {}).failures, ["not healthy afterwards: keepalived is not active on ds2"]);
  assert.ok(judgeStep(obs({ restored: false, backMs: undefined }), {}).failures.includes("ds1 was not brought back"));
  assert.equal(judgeStep(obs({ requests: [] }), {}).pass, false);
});

test("loopLoad: bounded by count and time, one request at a time, on the given clock", async () => {
  const clock = new VirtualClock();
  let n = 0;
  const load = loopLoad(async () => (await clock.sleep(10), { ok: ++n % 3 !== 0 }), { intervalMs: 100, requestTimeoutMs: 50, maxRequests: 5, maxMs: 10_000 }, clock);
  await clock.sleep(10_000);
  const r = await load.stop();
  assert.equal(r.results.length, 5);
  assert.deepEqual(r.results.map((x) => x.start), [0, 100, 200, 300, 400]);
  assert.deepEqual(r.results.map((x) => x.ok), [true, true, false, true, true]);
});

test("remote client: the loop script is sh with the values as words, bounded, and its lines parse", () => {
  const cmd = remoteLoadScript({ address: "10.0.0.100", port: 80, probe: "http" }, { intervalMs: 100, requestTimeoutMs: 1000, maxRequests: 50, maxMs: 30_000 }, "/tmp/lvsctl-drill-x.stop");
  const text = renderCommand(cmd);
  assert.match(text, /curl -s -o \/dev\/null --max-time 1 http:\/\/10\.0\.0\.100:80\//);
  assert.match(text, /-lt 50 \]/);
  // It is valid sh (parsed, not run).
  execFileSync("sh", ["-n", "-c", (cmd as { shell: string }).shell]);
  assert.deepEqual(parseRemoteLoad("1700000000000 1700000000012 ok\nnoise\n1700000000100 1700000001100 fail\n"), [
    { start: 1700000000000, end: 1700000000012, ok: true },
    { start: 1700000000100, end: 1700000001100, ok: false, error: "failed" },
  ]);
});
