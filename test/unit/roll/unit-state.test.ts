// The gate's watch on the gated director's own daemon in systemd (src/roll/unit-state.ts): a unit
// that failed or keeps being restarted (a crash loop) stops the gate at once, quoting the daemon's
// last error from its journal, instead of a timeout on what a dead daemon left behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { lvsdRoll } from "../../../src/roll/index.js";
import { directorProbe, splitDirectorProbe } from "../../../src/roll/director-probe.js";
import { journalCommand, lastJournalError, parseUnitShow, unitTrouble, unitTroubleReason, type UnitState } from "../../../src/roll/unit-state.js";
import { renderCommand, type Command } from "../../../src/command/index.js";
import type { ExecResult } from "../../../src/ssh/types.js";
import type { HttpResponse } from "../../../src/ssh/http.js";
import { directorOut, MASTER_ADDRS, statusCluster } from "../status/fixtures.js";
import { lvsdSnapshot } from "../status/lvsd-snapshot.js";

const JOURNAL = readFileSync(new URL("../../fixtures/roll/journal-lvsd-abi.txt", import.meta.url), "utf8");
const show = (active: string, sub: string, n: number, result = "success") => `ActiveState=${active}\nSubState=${sub}\nNRestarts=${n}\nResult=${result}\n`;
const state = (active: string, sub: string, n: number | undefined, result = "success"): UnitState => ({ activeState: active, subState: sub, nRestarts: n, result });

test("the probe asks systemd for the gated unit's state in the same round trip; its output splits apart again", () => {
  const p = directorProbe(["keepalived.service", "lvsd.service"], { show: "lvsd.service" });
  assert.equal(
    renderCommand(p),
    "sh -c 'systemctl is-active keepalived.service lvsd.service; echo @@lvsctl-roll; ip -j addr show; echo @@lvsctl-roll; ipvsadm -Sn 2>&1; echo @@lvsctl-unit; systemctl show --property=ActiveState,SubState,NRestarts,Result -- lvsd.service 2>&1; true'",
  );
  const parts = splitDirectorProbe(`${directorOut("inactive\nactivating", ["10.77.0.12"], "-A -t 10.77.0.100:80 -s wlc\n", "")}@@lvsctl-unit\n${show("activating", "auto-restart", 4, "exit-code")}`);
  assert.deepEqual(parts.states, ["inactive", "activating"]);
  assert.equal(parts.ipvsSave, "-A -t 10.77.0.100:80 -s wlc\n");
  assert.deepEqual(parseUnitShow(parts.unitShow), state("activating", "auto-restart", 4, "exit-code"));
  // Not asked (lvsctl status): no unit section.
  assert.equal(splitDirectorProbe(directorOut("active", [])).unitShow, "");
  assert.equal(parseUnitShow(""), undefined);
  assert.deepEqual(parseUnitShow("ActiveState=active\nSubState=running\nResult=success\n"), state("active", "running", undefined));
  assert.deepEqual(renderCommand(journalCommand("lvsd.service")), "journalctl --quiet --no-pager --output=cat --lines=40 --unit=lvsd.service");
});

test("unitTrouble: failed at once; a crash loop after two restarts seen by the gate; the handler's one kill-restart is not one", () => {
  const first = state("active", "running", 1);
  assert.equal(unitTrouble(first, state("active", "running", 1)), undefined);
  // The restart handler's kill may land after the first poll: one restart is expected.
  assert.equal(unitTrouble(state("active", "running", 0), state("active", "running", 1)), undefined);
  assert.equal(unitTrouble(first, state("activating", "auto-restart", 2, "exit-code")), undefined);
  assert.deepEqual(unitTrouble(first, state("activating", "auto-restart", 3, "exit-code")), { kind: "crash-looping", restarts: 3, during: 2, result: "exit-code" });
  // Caught while briefly up between two crashes: still a loop.
  assert.equal(unitTrouble(first, state("active", "running", 5))?.kind, "crash-looping");
  assert.deepEqual(unitTrouble(first, state("failed", "failed", 5, "start-limit-hit")), { kind: "failed", restarts: 5, during: 4, result: "start-limit-hit" });
  // Started by hand meanwhile (NRestarts back to 0), or systemd without NRestarts: no count, no loop.
  assert.equal(unitTrouble(state("activating", "auto-restart", 6), state("active", "running", 0)), undefined);
  assert.equal(unitTrouble(state("active", "running", undefined), state("active", "running", undefined)), undefined);
  assert.equal(unitTrouble(undefined, undefined), undefined);
});

test("lastJournalError: lvsd's last error record (msg and error), not an older one, not the warning before it, not systemd's lines", () => {
  assert.equal(lastJournalError(JOURNAL), "cannot start the VRRP engine: /opt/lvsd/lvsd_socket.node has ABI version 1, this lvsd expects 2");
  // A reason string (the engine crashed) and a hint.
  assert.equal(lastJournalError('{"level":"error","msg":"VRRP engine failed: exiting so systemd restarts lvsd","reason":"worker exited with code 1"}\n'), "VRRP engine failed: exiting so systemd restarts lvsd: worker exited with code 1");
  assert.equal(lastJournalError('<3>{"level":"error","msg":"cannot start the VRRP engine","error":{"message":"EPERM"},"hint":"run it as root"}'), "cannot start the VRRP engine: EPERM (run it as root)");
  // No record of lvsd's: a Node crash's own line, else how systemd saw the process exit.
  const nodeCrash = ["node:internal/modules/cjs/loader:1080", "  throw err;", "Error: Cannot find module '/opt/lvsd/lvsd.cjs'", "lvsd.service: Main process exited, code=exited, status=1/FAILURE", "lvsd.service: Failed with result 'exit-code'."].join("\n");
  assert.equal(lastJournalError(nodeCrash), "Error: Cannot find module '/opt/lvsd/lvsd.cjs'");
  assert.equal(lastJournalError("lvsd.service: Main process exited, code=killed, status=11/SEGV\nlvsd.service: Failed with result 'signal'.\n"), "lvsd.service: Main process exited, code=killed, status=11/SEGV");
  assert.equal(lastJournalError(""), undefined);
  assert.equal(lastJournalError('{"level":"info","msg":"lvsd started"}\n'), undefined);
  assert.ok(lastJournalError(`{"level":"error","msg":"${"x".repeat(1000)}"}`)!.length <= 300);
});

test("unitTroubleReason: who, what, how often, the daemon's words, where to look", () => {
  const q = "cannot start the VRRP engine: /opt/lvsd/lvsd_socket.node has ABI version 1, this lvsd expects 2";
  assert.equal(
    unitTroubleReason("lb2", "lvsd", { kind: "crash-looping", restarts: 4, during: 3, result: "exit-code" }, q),
    `lb2: lvsd is crash-looping (restarted 4 times): ${q} (journalctl -u lvsd.service on lb2)`,
  );
  assert.equal(
    unitTroubleReason("lb2", "lvsd", { kind: "failed", restarts: 5, during: 5, result: "start-limit-hit" }, undefined),
    "lb2: lvsd has failed (start-limit-hit, after it was restarted 5 times; systemd will not start it again by itself); its journal gave no error (journalctl -u lvsd.service on lb2)",
  );
});

test("lvsd roll, gate: a crash-looping lvsd stops the gate within seconds, quoting its journal; one journal read, at the end", async () => {
  const cluster = statusCluster("lvsd");
  let t = 0;
  const clock = { now: () => t, sleep: async (ms: number) => void (t += ms), aborted: () => false, timeoutMs: 65_000 };
  // ds1 got a bundle its lvsd cannot run: the kernel keeps the VIPs and the table the killed lvsd
  // left (it adopts them on restart), while systemd restarts lvsd about once a second.
  let n = 1;
  const asked: string[] = [];
  const probe = {
    async exec(host: string, cmd: Command): Promise<ExecResult> {
      const line = renderCommand(cmd);
      asked.push(`${host} ${line.startsWith("journalctl") ? "journal" : "probe"}`);
      if (line.startsWith("journalctl")) return { code: 0, stdout: Buffer.from(JOURNAL), stderr: Buffer.alloc(0) };
      if (host === "ds1") n++;
      const unit = host === "ds1" ? show(n % 2 ? "active" : "activating", n % 2 ? "running" : "auto-restart", n, "exit-code") : show("active", "running", 0);
      return { code: 0, stdout: Buffer.from(`${directorOut(host === "ds1" ? "inactive\nactive" : "inactive\nactive", host === "ds1" ? MASTER_ADDRS : ["10.77.0.12"])}@@lvsctl-unit\n${unit}`), stderr: Buffer.alloc(0) };
    },
    async httpGet(): Promise<never> {
      throw new Error("connect ECONNREFUSED 127.0.0.1:9547");
    },
  };
  const r = await lvsdRoll(cluster).gate("ds1", probe, clock);
  assert.equal(r.ok, false);
  assert.match(r.reason, /^ds1: lvsd is crash-looping \(restarted 4 times\): cannot start the VRRP engine: \/opt\/lvsd\/lvsd_socket\.node has ABI version 1, this lvsd expects 2 \(journalctl -u lvsd\.service on ds1\) \(after 2 s; VI_web MASTER on ds1\)$/);
  assert.ok(t <= 3000, `stopped after ${t} ms, not the 65 s timeout`);
  assert.deepEqual(asked.filter((a) => a.endsWith("journal")), ["ds1 journal"]);
  assert.equal(asked.at(-1), "ds1 journal");
});

test("lvsd roll, gate: the upgrade's one kill-restart (NRestarts 0 -> 1 after the first poll) is no crash loop: it passes once lvsd agrees", async () => {
  const cluster = statusCluster("lvsd");
  let t = 0;
  const clock = { now: () => t, sleep: async (ms: number) => void (t += ms), aborted: () => false, timeoutMs: 65_000 };
  let polls = 0;
  const probe = {
    async exec(host: string): Promise<ExecResult> {
      if (host === "ds1") polls++;
      const unit = host === "ds1" ? (polls === 1 ? show("active", "running", 0) : polls === 2 ? show("activating", "auto-restart", 1, "signal") : show("active", "running", 1, "signal")) : show("active", "running", 0);
      return { code: 0, stdout: Buffer.from(`${directorOut("inactive\nactive", host === "ds1" ? MASTER_ADDRS : ["10.77.0.12"])}@@lvsctl-unit\n${unit}`), stderr: Buffer.alloc(0) };
    },
    async httpGet(): Promise<HttpResponse> {
      if (polls < 4) throw new Error("connect ECONNREFUSED 127.0.0.1:9547");
      return { status: 200, headers: {}, body: Buffer.from(JSON.stringify(lvsdSnapshot(cluster, "ds1", "MASTER"))) };
    },
  };
  const r = await lvsdRoll(cluster).gate("ds1", probe, clock);
  assert.equal(r.ok, true, r.reason);
  assert.equal(polls, 4);
});
