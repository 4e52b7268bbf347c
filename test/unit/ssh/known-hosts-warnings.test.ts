// known_hosts files that cannot be read and lines that cannot be parsed (issue 8, item 7): each is
// reported once per run as a `run.warning` naming the file and line and why, never the line's
// content; the good lines of a file with a bad one are still used; a missing file says nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { Writable } from "node:stream";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadKnownHosts } from "../../../src/ssh/host-keys.js";
import { checkHostKey } from "../../../src/ssh/known-hosts.js";
import { SshConnector } from "../../../src/ssh/connection.js";
import type { HostKeyPolicy } from "../../../src/ssh/types.js";
import type { RunEvent } from "../../../src/run/events.js";
import { runPlaybook } from "../../../src/run/executor.js";
import { parsePlaybook } from "../../../src/run/playbook.js";
import { runWithOutput } from "../../../src/run/report.js";
import { labCluster } from "../../fixtures/plan/clusters.js";
import { SimConnector, SimHost } from "../../fixtures/plan/sim-host.js";

const fixtures = fileURLToPath(new URL("../../fixtures/ssh/", import.meta.url));
const blob = (name: string) => Buffer.from(readFileSync(fixtures + name, "utf8").split(" ")[1]!, "base64");
const A = blob("test-only-host-a-ed25519.pub");
const B = blob("test-only-host-b-ed25519.pub");
/** Stands for whatever a careless paste left in the file: it must never be shown. */
const LEAK = "hunter2pasted";

function withTmp(fn: (tmp: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const tmp = mkdtempSync(join(tmpdir(), "lvsctl-kh-warn-"));
    try {
      await fn(tmp);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  };
}

/** Two good lines around five bad ones (lines 2 to 6); returns the file. */
function mixedFile(tmp: string): string {
  const file = join(tmp, "known_hosts");
  writeFileSync(
    file,
    [
      `10.0.0.1 ssh-ed25519 ${A.toString("base64")}`,
      `@${LEAK} 10.0.0.9 ssh-ed25519 ${A.toString("base64")}`,
      LEAK,
      `10.0.0.9 ssh-ed25519 ${LEAK}`,
      `|1|${LEAK}|x ssh-ed25519 ${A.toString("base64")}`,
      `,,, ssh-ed25519 ${A.toString("base64")} ${LEAK}`,
      "# a comment is not a problem",
      "",
      `10.0.0.2 ssh-ed25519 ${B.toString("base64")}`,
    ].join("\n") + "\n",
  );
  return file;
}

test("a file that is a directory, or a FIFO, is one problem at line 0, and reading never blocks", withTmp((tmp) => {
  const dir = join(tmp, "known_hosts.d");
  mkdirSync(dir);
  const fifo = join(tmp, "fifo");
  execFileSync("mkfifo", [fifo]);
  const db = loadKnownHosts([dir, fifo]);
  assert.deepEqual(db.entries, []);
  assert.deepEqual(db.problems, [
    { file: dir, line: 0, message: "it is a directory, not a file; its host keys are not used" },
    { file: fifo, line: 0, message: "it is a named pipe (FIFO), not a file; its host keys are not used" },
  ]);
}));

test("a file without read permission is one problem: permission denied", {
  skip: process.getuid?.() === 0 ? "root reads any file; run the unit tests as a user to see this case" : false,
}, withTmp((tmp) => {
  const file = join(tmp, "known_hosts");
  writeFileSync(file, `h ssh-ed25519 ${A.toString("base64")}\n`, { mode: 0o000 });
  chmodSync(file, 0o000);
  assert.deepEqual(loadKnownHosts([file]).problems, [{ file, line: 0, message: "it cannot be read (permission denied); its host keys are not used" }]);
}));

test("a missing file (the default ~/.ssh/known_hosts before the first accept-new) is no problem", withTmp((tmp) => {
  assert.deepEqual(loadKnownHosts([join(tmp, ".ssh", "known_hosts")]), { entries: [], problems: [] });
}));

test("a file the user named (--known-hosts) that does not exist is one problem, unless accept-new will create it", withTmp((tmp) => {
  const file = join(tmp, "typo_known_hosts");
  const db = loadKnownHosts([file], { named: true });
  assert.equal(db.problems.length, 1);
  assert.equal(db.problems[0]!.file, file);
  assert.match(db.problems[0]!.message, /^it does not exist; .*--accept-new-host-keys/);
  assert.deepEqual(loadKnownHosts([file], { named: true, acceptNew: true }).problems, []);
}));

test("malformed lines are problems at their line numbers, never quoting the line; the good lines are still used", withTmp((tmp) => {
  const file = mixedFile(tmp);
  const db = loadKnownHosts([file]);
  assert.deepEqual(db.problems.map((p) => p.line), [2, 3, 4, 5, 6]);
  for (const p of db.problems) {
    assert.equal(p.file, file);
    assert.ok(!p.message.includes(LEAK), p.message);
    assert.match(p.message, /the line is skipped$/);
  }
  assert.match(db.problems[0]!.message, /a marker other than @cert-authority or @revoked/);
  assert.match(db.problems[1]!.message, /too few fields/);
  assert.match(db.problems[2]!.message, /not valid base64 of a ssh-ed25519 key/, "the key type may be shown");
  assert.match(db.problems[3]!.message, /malformed hashed host entry/);
  assert.match(db.problems[4]!.message, /empty host pattern/);
  assert.equal(checkHostKey(db.entries, "10.0.0.1", 22, "ssh-ed25519", A).status, "match");
  assert.equal(checkHostKey(db.entries, "10.0.0.2", 22, "ssh-ed25519", B).status, "match");
}));

const PLAY = `- { name: p, hosts: realservers, tasks: [ { name: f, file: { path: /etc/f, content: "x" } } ] }`;

/** The sim hosts, with the real connector's known_hosts reading (what a run over SSH does). */
function connector(): SimConnector {
  const sims = { rs1: new SimHost({ name: "rs1" }), rs2: new SimHost({ name: "rs2" }), rs3: new SimHost({ name: "rs3" }) };
  const ssh = new SshConnector({ defaultAgent: undefined, defaultIdentityFiles: [] });
  return Object.assign(new SimConnector(sims), { knownHostsWarnings: (p: HostKeyPolicy) => ssh.knownHostsWarnings(p) });
}

test("a run over three hosts reports each known_hosts problem once, as run.warning events with file and line", withTmp(async (tmp) => {
  const file = mixedFile(tmp);
  const dir = join(tmp, "global.d");
  mkdirSync(dir);
  const policy = { knownHostsFiles: [file, dir, join(tmp, "missing")], acceptNew: false };
  const events: RunEvent[] = [];
  const r = await runPlaybook({ cluster: labCluster(), playbook: parsePlaybook(PLAY, "p.yml").playbook!, connector: connector(), policy, onEvent: (e) => events.push(e) });
  assert.equal(r.exitCode, 0);
  assert.equal(events.filter((e) => e.type === "host.connected").length, 3);
  const warnings = events.filter((e): e is Extract<RunEvent, { type: "run.warning" }> => e.type === "run.warning");
  assert.deepEqual(warnings.map((w) => [w.source, w.file, w.line]), [
    ["known_hosts", file, 2],
    ["known_hosts", file, 3],
    ["known_hosts", file, 4],
    ["known_hosts", file, 5],
    ["known_hosts", file, 6],
    ["known_hosts", dir, undefined],
  ]);
  assert.ok(events.indexOf(warnings[0]!) < events.findIndex((e) => e.type === "host.connected"), "said before the first connection");
  assert.ok(!JSON.stringify(events).includes(LEAK));
}));

test("plain output and --json both show the warnings, once each, without the lines' content", withTmp(async (tmp) => {
  const file = mixedFile(tmp);
  const policy = { knownHostsFiles: [file], acceptNew: false };
  for (const json of [false, true]) {
    const chunks: string[] = [];
    const stream = Object.assign(new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) }), { isTTY: false }) as unknown as NodeJS.WriteStream;
    const r = await runWithOutput({
      cluster: labCluster(),
      playbook: parsePlaybook(PLAY, "p.yml").playbook!,
      connector: connector(),
      policy,
      signal: new AbortController().signal,
      output: { json, stream },
    });
    assert.equal(r.exitCode, 0);
    const text = chunks.join("");
    assert.ok(!text.includes(LEAK), text);
    if (json) {
      const ws = text.trimEnd().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "run.warning");
      assert.deepEqual(ws.map((w) => w.line), [2, 3, 4, 5, 6]);
      assert.match(ws[1].message, /too few fields/);
    } else {
      assert.equal(text.split(`warning: known_hosts ${file}:3: it is not`).length - 1, 1, text);
      assert.equal((text.match(/^warning: known_hosts /gm) ?? []).length, 5, text);
    }
  }
}));
