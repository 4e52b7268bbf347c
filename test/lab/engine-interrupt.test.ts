// An interrupted run, end to end: the CLI runs the bootstrap on several fresh lab hosts and is
// killed mid-way (SIGKILL right after the first facts, the first task result, or as the VIP task
// starts; Ctrl-C = SIGINT, which must exit 130). After each: no `*.lvsctl-tmp-*` temp file is left in the
// directories written to, and every managed file that exists is complete (its sha256 is the
// converged one: writes are temp-then-rename). Then a clean re-run converges, and the run after
// that reports zero changes.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Lab, labPrerequisites } from "../../src/lab/index.js";
import type { RunEvent } from "../../src/run/events.js";
import { ARP_SYSCTLS, countStatus, TASK, describeRun, leftoverTemps, MANAGED_FILES, resetRealServer, runCli, sleep, snapshotHost, writeLabInventory, type CliRun } from "./helpers/index.js";

const why = labPrerequisites();
const RS = ["r1", "r2", "r3", "r4", "r5", "r6"];

describe("engine: interrupted runs", { skip: why ?? false, timeout: 300_000 }, () => {
  let lab: Lab;
  let inv: string;
  /** host -> path -> sha256 after a full run (the files name their host, so each host has its own). */
  const ref: Record<string, Record<string, string>> = {};
  const bootstrap = (onEvent?: (e: RunEvent, child: import("node:child_process").ChildProcess) => void): Promise<CliRun> =>
    runCli(["bootstrap", inv, "--known-hosts", lab.knownHostsFile, "--json"], onEvent ? { onEvent } : {});

  before(async () => {
    lab = await Lab.up({ hosts: ["d1", ...RS] });
    inv = writeLabInventory(lab, { directors: ["d1"], realservers: RS });
    const r = await bootstrap();
    assert.equal(r.code, 0, describeRun(r));
    for (const h of RS) {
      ref[h] = (await snapshotHost(lab, h)).files;
      assert.ok(Object.values(ref[h]!).every((v) => v !== "absent"), "the reference run wrote every managed file");
    }
  });
  after(async () => {
    await lab?.down();
  });

  const cases: { name: string; signal: NodeJS.Signals; when: (e: RunEvent) => boolean; exit: (r: CliRun) => void }[] = [
    { name: "SIGKILL after the first task result", signal: "SIGKILL", when: (e) => e.type === "task.result", exit: (r) => assert.equal(r.signal, "SIGKILL") },
    { name: "SIGKILL after the first facts", signal: "SIGKILL", when: (e) => e.type === "host.facts", exit: (r) => assert.equal(r.signal, "SIGKILL") },
    { name: `SIGKILL as the first host starts "${TASK.vip}"`, signal: "SIGKILL", when: (e) => e.type === "task.started" && e.task === TASK.vip, exit: (r) => assert.equal(r.signal, "SIGKILL") },
    { name: "Ctrl-C (SIGINT) after the first task result", signal: "SIGINT", when: (e) => e.type === "task.result", exit: (r) => assert.equal(r.code, 130, describeRun(r)) },
  ];

  for (const c of cases) {
    test(`${c.name}: no temp or partial file left, a re-run converges`, async () => {
      await Promise.all(RS.map((h) => resetRealServer(lab, h)));
      let sent = false;
      const killed = await bootstrap((e, child) => {
        if (!sent && c.when(e)) {
          sent = true;
          child.kill(c.signal);
        }
      });
      assert.ok(sent, `the run reached the kill point: ${describeRun(killed)}`);
      c.exit(killed);
      const results = killed.events.filter((e) => e.type === "task.result").length;

      // sshd hangs up the sessions of a dead client; the writer's trap removes its temp file.
      let temps: string[] = [];
      for (let i = 0; i < 50; i++) {
        temps = (await Promise.all(RS.map(async (h) => (await leftoverTemps(lab, h)).map((t) => `${h}:${t}`)))).flat();
        if (temps.length === 0) break;
        await sleep(100);
      }
      assert.deepEqual(temps, [], "no temp file left behind");
      let touched = 0;
      for (const h of RS) {
        const s = await snapshotHost(lab, h);
        for (const f of MANAGED_FILES) {
          assert.ok(s.files[f] === "absent" || s.files[f] === ref[h]![f], `${h}:${f} is absent or complete, not ${s.files[f]}`);
          if (s.files[f] !== "absent") touched++;
        }
      }
      console.log(`# ${c.name}: ${results} task result(s) before the kill, ${touched} of ${RS.length * MANAGED_FILES.length} managed files written`);

      const rerun = await bootstrap();
      assert.equal(rerun.code, 0, describeRun(rerun));
      assert.equal(countStatus(rerun.events).failed, 0);
      for (const h of RS) {
        const s = await snapshotHost(lab, h);
        assert.deepEqual(s.files, ref[h], `${h} converged`);
        assert.deepEqual(s.sysctls, ARP_SYSCTLS);
        assert.equal(s.unitActive, "active");
      }
      const quiet = await bootstrap();
      assert.equal(quiet.code, 0, describeRun(quiet));
      assert.equal(countStatus(quiet.events).changed, 0, "the run after the re-run changes nothing");
    });
  }
});
