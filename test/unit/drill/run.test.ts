// The drill's runner against a simulated cluster (sim.ts): a virtual clock, directors that answer
// the plan's commands, a client whose requests fail while no director answers for the VIP. No
// timing is asserted against the real clock; every time here is the virtual clock's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runDrill, type DrillEvent, type DrillOptions } from "../../../src/drill/index.js";
import { HELD_SYNC_MS } from "../../../src/drill/run.js";
import { drillCluster, SimCluster, VirtualClock } from "./sim.js";

function setup(opts: { nopreempt?: boolean; restartMs?: number; abortWhen?: (host: string, words: string) => boolean } = {}) {
  const clock = new VirtualClock();
  const sim = new SimCluster(clock, { nopreempt: opts.nopreempt ?? false, ...(opts.restartMs !== undefined ? { restartMs: opts.restartMs } : {}) });
  let aborted = false;
  if (opts.abortWhen) sim.onExec = (h, w) => void (opts.abortWhen!(h, w) && (aborted = true));
  const events: DrillEvent[] = [];
  const resets: string[] = [];
  const ports = {
    exec: sim.exec.bind(sim),
    reset: async (h: string) => void resets.push(h),
    client: sim.client(),
    now: clock.now,
    sleep: clock.sleep,
    aborted: () => aborted,
    emit: (e: DrillEvent) => events.push(e),
  };
  return { clock, sim, ports, events, resets, cluster: drillCluster({ nopreempt: opts.nopreempt ?? false }) };
}

const base = (o: Partial<DrillOptions> = {}): DrillOptions => ({ mode: "stop", linkDownSec: 8, runId: "t1", held: 2, ...o });

test("stop mode over both directors: the VIP moves to ds2 and comes back to ds1 (preempt); gaps measured by the client", async () => {
  const { ports, sim, cluster } = setup();
  const rep = await runDrill(cluster, ports, base({ maxGapMs: 2000, maxFailed: 20 }));
  assert.equal(rep.health.ok, true);
  assert.equal(rep.pass, true, JSON.stringify(rep.steps.map((s) => s.failures)));
  assert.deepEqual(rep.steps.map((s) => s.director), ["ds1", "ds2"]);
  const [s1, s2] = rep.steps;
  // ds1 held the VIP: a gap of about the takeover time (600 ms) to the client's resolution.
  assert.ok(s1!.gapMs >= 500 && s1!.gapMs <= 800, `gap ${s1!.gapMs}`);
  assert.ok(s1!.failed >= 4 && s1!.failed <= 7, `failed ${s1!.failed}`);
  assert.equal(s1!.vipMoved, true);
  assert.deepEqual(s1!.finalHolders, { VI_web: ["ds1"] });
  assert.equal(s1!.held?.survived, 0, "no connection sync in the sim: held connections do not survive a move");
  // ds2 was a backup: nothing moves, nothing fails.
  assert.equal(s2!.gapMs, 0);
  assert.equal(s2!.failed, 0);
  assert.equal(s2!.held?.survived, 2);
  assert.deepEqual(rep.restores, [], "each step restored its own director");
  assert.deepEqual(sim.log, ["ds1: systemctl stop keepalived.service", "ds1: systemctl start keepalived.service", "ds2: systemctl stop keepalived.service", "ds2: systemctl start keepalived.service"]);
});

test("limits: a gap over --max-gap and failures over --max-failed fail the step and the drill", async () => {
  const { ports, cluster } = setup();
  const rep = await runDrill(cluster, ports, base({ maxGapMs: 100, maxFailed: 1 }));
  assert.equal(rep.pass, false);
  assert.equal(rep.steps[0]!.pass, false);
  assert.ok(rep.steps[0]!.failures.some((f) => /over --max-gap 100 ms/.test(f)));
  assert.ok(rep.steps[0]!.failures.some((f) => /over --max-failed 1/.test(f)));
  assert.equal(rep.steps[1]!.pass, true, "the backup's step is within the limits");
});

test("kill mode: systemd's restart is held, the peer takes over after the master down interval, the killed one keeps its stale VIP until the drill starts it", async () => {
  // The unit restarts itself 1 s after a kill (lvsd's Restart=on-failure), sooner than ds2's
  // master down interval (3.6 s): without the held restart the VIP would never move.
  const { ports, cluster, events, sim } = setup({ restartMs: 1000 });
  const rep = await runDrill(cluster, ports, base({ mode: "kill", only: ["ds1"] }));
  assert.equal(rep.pass, true, JSON.stringify(rep.steps.map((s) => s.failures)));
  const s = rep.steps[0]!;
  assert.ok(s.gapMs >= 3500 && s.gapMs <= 3800, `gap ${s.gapMs}`);
  assert.ok(s.movedMs !== undefined && s.movedMs >= 3600, `moved ${s.movedMs} ms after the kill itself (the drop-in and daemon-reload before it not counted)`);
  const moved = events.find((e) => e.type === "step.moved");
  assert.deepEqual(moved?.type === "step.moved" && moved.holders, { VI_web: ["ds1", "ds2"] }, "both hold it while ds1 is dead");
  assert.deepEqual(s.finalHolders, { VI_web: ["ds1"] });
  assert.deepEqual(sim.log, [
    "ds1: write the no-restart drop-in",
    "ds1: systemctl daemon-reload",
    "ds1: systemctl kill --signal=KILL keepalived.service",
    "ds1: rm -f /run/systemd/system/keepalived.service.d/lvsctl-drill-no-restart.conf",
    "ds1: systemctl daemon-reload",
    "ds1: systemctl start keepalived.service",
  ]);
  assert.deepEqual(sim.d.ds1!.dropIn, { file: false, loaded: false }, "the unit's own Restart= is back");
});

test("kill mode, interrupted after the kill: the restore removes the drop-in before it starts the daemon; nothing else is touched", async () => {
  const { ports, cluster, sim } = setup({ restartMs: 1000, abortWhen: (h, w) => h === "ds1" && w.includes("systemctl kill") });
  const rep = await runDrill(cluster, ports, base({ mode: "kill" }));
  assert.equal(rep.interrupted, true);
  assert.deepEqual(rep.restores.map((r) => [r.director, r.ok, r.what]), [["ds1", true, ["rm -f /run/systemd/system/keepalived.service.d/lvsctl-drill-no-restart.conf", "systemctl daemon-reload", "systemctl start keepalived.service"]]]);
  assert.ok(!sim.log.includes("ds1: systemd restarted the daemon"), "systemd never restarted it by itself");
  assert.deepEqual(sim.d.ds1!.dropIn, { file: false, loaded: false });
  assert.equal(sim.d.ds1!.active, true);
  assert.ok(!sim.log.some((l) => l.startsWith("ds2:")), "ds2 was never touched");
});

test("kill mode, the kill itself fails after the drop-in went in: the step fails and the drop-in is removed all the same", async () => {
  const { ports, cluster, sim } = setup({ restartMs: 1000 });
  const exec = ports.exec;
  ports.exec = async (h, cmd, t) => ("argv" in cmd && cmd.argv[1] === "kill" ? { code: 1, stdout: Buffer.from(""), stderr: Buffer.from("Failed to kill unit: Access denied") } : exec(h, cmd, t));
  const rep = await runDrill(cluster, ports, base({ mode: "kill", only: ["ds1"] }));
  assert.equal(rep.pass, false);
  assert.match(rep.steps[0]!.failures.join("\n"), /systemctl kill --signal=KILL keepalived.service` on ds1 failed: exited 1: Failed to kill unit: Access denied/);
  assert.equal(rep.steps[0]!.restored, true);
  assert.deepEqual(sim.d.ds1!.dropIn, { file: false, loaded: false });
});

test("crash mode: systemd restarts the daemon sooner than the master down interval: the VIPs stay, and that passes", async () => {
  const { ports, cluster, sim, events } = setup({ restartMs: 1000 });
  const rep = await runDrill(cluster, ports, base({ mode: "crash", only: ["ds1"] }));
  assert.equal(rep.pass, true, JSON.stringify(rep.steps.map((s) => s.failures)));
  assert.equal(rep.steps[0]!.vipMoved, false);
  assert.equal(rep.steps[0]!.movedMs, undefined);
  const moved = events.find((e) => e.type === "step.moved");
  assert.deepEqual(moved?.type === "step.moved" && [moved.watched, moved.holders], [true, { VI_web: ["ds1"] }]);
  assert.deepEqual(sim.log, ["ds1: systemctl kill --signal=KILL keepalived.service", "ds1: systemd restarted the daemon", "ds1: systemctl start keepalived.service"], "no drop-in: systemd restarts it");
  assert.deepEqual(rep.steps[0]!.finalHolders, { VI_web: ["ds1"] });
});

test("crash mode: a restart slower than the master down interval: the peer holds the VIPs meanwhile, then the restarted daemon takes them back (preempt)", async () => {
  const { ports, cluster, sim } = setup({ restartMs: 6000 });
  const rep = await runDrill(cluster, ports, base({ mode: "crash", only: ["ds1"] }));
  assert.equal(rep.pass, true, JSON.stringify(rep.steps.map((s) => s.failures)));
  const s = rep.steps[0]!;
  assert.ok(s.vipMoved && s.movedMs! >= 3600 && s.movedMs! < 6000, `moved ${s.movedMs} ms`);
  assert.ok(sim.log.includes("ds1: systemd restarted the daemon"));
  assert.deepEqual(s.finalHolders, { VI_web: ["ds1"] });
});

test("crash mode on a unit without Restart= (keepalived's): dead for the watch, the peer takes over, the drill starts it", async () => {
  const { ports, cluster, sim } = setup();
  const rep = await runDrill(cluster, ports, base({ mode: "crash", only: ["ds1"] }));
  assert.equal(rep.pass, true, JSON.stringify(rep.steps.map((s) => s.failures)));
  assert.equal(rep.steps[0]!.vipMoved, true);
  assert.deepEqual(sim.log, ["ds1: systemctl kill --signal=KILL keepalived.service", "ds1: systemctl start keepalived.service"]);
});

test("crash mode, nopreempt: the VIPs end where the restart left them: kept on ds1 (fast restart) or on ds2 (it took over first)", async () => {
  for (const [restartMs, where] of [[1000, "ds1"], [6000, "ds2"]] as const) {
    const { ports, cluster } = setup({ nopreempt: true, restartMs });
    const rep = await runDrill(cluster, ports, base({ mode: "crash", only: ["ds1"] }));
    assert.equal(rep.pass, true, `restart after ${restartMs} ms: ${JSON.stringify(rep.steps.map((s) => s.failures))}`);
    assert.deepEqual([rep.steps[0]!.expectedAfter, rep.steps[0]!.finalHolders], [{ VI_web: [where] }, { VI_web: [where] }], `restart after ${restartMs} ms`);
  }
});

test("link mode: both timers armed on the director (the way back first), the director comes back by itself; the restore disarms", async () => {
  const { ports, cluster, sim } = setup();
  const rep = await runDrill(cluster, ports, base({ mode: "link", only: ["ds1"] }));
  assert.equal(rep.pass, true, JSON.stringify(rep.steps.map((s) => s.failures)));
  assert.deepEqual(sim.log, [
    "ds1: systemd-run --collect --unit=lvsctl-drill-t1-up-eth0 --on-active=9s --timer-property=AccuracySec=100ms ip link set dev eth0 up",
    "ds1: systemd-run --collect --unit=lvsctl-drill-t1-down-eth0 --on-active=1s --timer-property=AccuracySec=100ms ip link set dev eth0 down",
    "ds1: timer lvsctl-drill-t1-down-eth0 fired",
    "ds1: timer lvsctl-drill-t1-up-eth0 fired",
    "ds1: systemctl stop lvsctl-drill-t1-down-eth0.timer",
    "ds1: ip link set dev eth0 up",
    "ds1: systemctl stop lvsctl-drill-t1-up-eth0.timer",
  ]);
  assert.ok(rep.steps[0]!.gapMs >= 3500, `gap ${rep.steps[0]!.gapMs}`);
  assert.deepEqual(rep.steps[0]!.finalHolders, { VI_web: ["ds1"] });
});

test("nopreempt: the VIP stays on ds2 after ds1 is back; the next step (ds2) then moves it to ds1", async () => {
  const { ports, cluster } = setup({ nopreempt: true });
  const rep = await runDrill(cluster, ports, base());
  assert.equal(rep.pass, true, JSON.stringify(rep.steps.map((s) => s.failures)));
  assert.deepEqual(rep.steps[0]!.expectedAfter, { VI_web: ["ds2"] });
  assert.deepEqual(rep.steps[0]!.finalHolders, { VI_web: ["ds2"] });
  assert.deepEqual(rep.steps[1]!.finalHolders, { VI_web: ["ds1"] });
  assert.ok(rep.steps[1]!.failed > 0, "ds2 held it in its step");
});

test("interrupted mid-step (after the stop): the director is started again, no further director is touched, the report says so", async () => {
  const { ports, cluster, sim, events } = setup({ abortWhen: (h, w) => h === "ds1" && w.includes("systemctl stop keepalived") });
  const rep = await runDrill(cluster, ports, base());
  assert.equal(rep.interrupted, true);
  assert.equal(rep.pass, false);
  assert.deepEqual(rep.restores, [{ director: "ds1", ok: true, what: ["systemctl start keepalived.service"] }]);
  assert.deepEqual(sim.log, ["ds1: systemctl stop keepalived.service", "ds1: systemctl start keepalived.service"]);
  assert.ok(events.some((e) => e.type === "restore" && e.ok));
  assert.equal(sim.d.ds1!.active, true);
});

test("interrupted during a link cut: the restore waits for the director's own timer, reconnects and sets the link up", async () => {
  const { ports, cluster, sim, resets } = setup({ abortWhen: (h, w) => h === "ds1" && w.includes("--on-active=1s") });
  const rep = await runDrill(cluster, ports, base({ mode: "link" }));
  assert.equal(rep.interrupted, true);
  assert.equal(rep.restores.length, 1);
  assert.equal(rep.restores[0]!.ok, true, rep.restores[0]!.error);
  assert.equal(sim.d.ds1!.link, true);
  assert.ok(!sim.log.some((l) => l.startsWith("ds2:")), "ds2 was never touched");
  // Interrupted right after arming: the restore reached ds1 before the cut fired and disarmed it.
  assert.ok(sim.log.includes("ds1: systemctl stop lvsctl-drill-t1-down-eth0.timer"));
  assert.ok(!sim.log.includes("ds1: timer lvsctl-drill-t1-down-eth0 fired"), sim.log.join("\n"));
  void resets;
});

test("a director that cannot be reached to restore: reported as not restored, the drill fails and stops", async () => {
  const { ports, cluster, sim } = setup({ abortWhen: (h, w) => h === "ds1" && w.includes("systemctl stop keepalived") });
  const unreachable = sim.unreachable;
  let stopped = false;
  sim.unreachable = (h) => (h === "ds1" && stopped) || unreachable(h);
  sim.onExec = (h, w) => void (h === "ds1" && w.includes("systemctl stop keepalived") && (stopped = true));
  const rep = await runDrill(cluster, ports, base({ restoreTimeoutMs: 5000 }));
  assert.equal(rep.pass, false);
  assert.equal(rep.steps[0]!.restored, false);
  assert.match(rep.steps[0]!.failures.join("\n"), /ds1 was not brought back/);
  assert.match(rep.stoppedEarly ?? "", /ds1 could not be brought back/);
  assert.equal(rep.restores.length, 1);
  assert.equal(rep.restores[0]!.ok, false);
  assert.match(rep.restores[0]!.error ?? "", /connection lost/);
  assert.equal(rep.steps.length, 1, "ds2 was not taken down");
});

test("not healthy: two masters, the drill refuses and runs nothing", async () => {
  const { ports, cluster, sim } = setup();
  sim.d.ds2!.holds = true;
  sim.d.ds2!.prio = 150; // keeps the sim from settling it
  const rep = await runDrill(cluster, ports, base());
  assert.equal(rep.health.ok, false);
  assert.match(rep.health.problems.join("\n"), /ds1 and ds2 all hold its VIPs/);
  assert.equal(rep.steps.length, 0);
  assert.deepEqual(sim.log, []);
});

test("held connections are open for the kernel's sync flush time before the director goes down; without them the warm-up is shorter", async () => {
  const downAfterStart = async (held: number) => {
    const { ports, sim, cluster, clock } = setup();
    let startedAt = -1;
    let downAt = -1;
    const start = ports.client.start.bind(ports.client);
    ports.client.start = async () => ((startedAt = clock.now()), start());
    sim.onExec = (h, w) => void (h === "ds1" && w.includes("systemctl stop") && downAt < 0 && (downAt = clock.now()));
    await runDrill(cluster, ports, base({ held, only: ["ds1"] }));
    return downAt - startedAt;
  };
  assert.ok((await downAfterStart(2)) >= HELD_SYNC_MS);
  assert.ok((await downAfterStart(0)) < HELD_SYNC_MS);
});
