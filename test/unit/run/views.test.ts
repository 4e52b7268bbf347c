import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { runPlaybook } from "../../../src/run/executor.js";
import type { RunEvent } from "../../../src/run/events.js";
import { parsePlaybook } from "../../../src/run/playbook.js";
import { createView } from "../../../src/run/view.js";
import { listrView } from "../../../src/run/view-listr.js";
import { labCluster } from "../../fixtures/plan/clusters.js";
import { SimConnector, SimHost } from "../../fixtures/plan/sim-host.js";

const YAML = `
- name: demo
  hosts: realservers
  tasks:
    - { name: conf, file: { path: /etc/demo.conf, content: "v=2\\n" } }
    - { name: breaks on rs2, command: "boom-{{ inventory_hostname }}" }
    - { name: never on rs2, file: { path: /etc/after, content: "x" } }
`;

async function events(): Promise<RunEvent[]> {
  const sims = { rs1: new SimHost({ name: "rs1" }), rs2: new SimHost({ name: "rs2", failOn: /boom-rs2/ }), rs3: new Error("rs3: connection refused") };
  sims.rs1.files.set("/etc/demo.conf", { content: Buffer.from("v=1\n"), mode: 0o644 });
  const out: RunEvent[] = [];
  await runPlaybook({ cluster: labCluster(), playbook: parsePlaybook(YAML, "demo.yml").playbook!, connector: new SimConnector(sims), policy: { knownHostsFiles: [], acceptNew: false }, options: { diff: true }, onEvent: (e) => out.push(e) });
  return out;
}

function sink() {
  const chunks: string[] = [];
  return { write: (s: string) => chunks.push(s), text: () => chunks.join(""), isTTY: false };
}

test("plain view: every host line starts with the host name; recap and exit code at the end", async () => {
  const s = sink();
  const v = createView(s, { diff: true });
  for (const e of await events()) v.onEvent(e);
  await v.finish();
  const text = s.text();
  const hostLines = text.split("\n").filter((l) => / \| /.test(l));
  assert.ok(hostLines.length >= 4);
  for (const l of hostLines) assert.match(l, /^rs[123] \| /);
  assert.match(text, /^rs1 \| changed: conf: sha256 differs$/m);
  assert.match(text, /^rs1 \| -v=1$/m);
  assert.match(text, /^rs1 \| \+v=2$/m);
  assert.match(text, /^rs2 \| failed: breaks on rs2: .*simulated failure/m);
  assert.match(text, /^rs3 \| UNREACHABLE: rs3: connection refused/m);
  assert.match(text, /RECAP\n {2}rs1 {2}ok=0 {2}changed=3 {2}failed=0 {2}unreachable=0 {2}skipped=0\n {2}rs2 {2}ok=0 {2}changed=1 {2}failed=1/);
  assert.match(text, /^exit 2 \(a task failed\)/m);
});

test("json view: one parseable event per line, nothing else", async () => {
  const s = sink();
  const v = createView(s, { json: true });
  const evs = await events();
  for (const e of evs) v.onEvent(e);
  const lines = s.text().trimEnd().split("\n");
  assert.equal(lines.length, evs.length);
  assert.deepEqual(lines.map((l) => JSON.parse(l).type), evs.map((e) => e.type));
});

test("listr view: a tree per host that finishes, host names in titles, recap after", async () => {
  const drawn: string[] = [];
  const stream = new Writable({ write: (c, _e, cb) => (drawn.push(String(c)), cb()) }) as unknown as NodeJS.WriteStream;
  const s = sink();
  const v = listrView(s, { renderer: "simple", stream });
  for (const e of await events()) v.onEvent(e);
  await v.finish();
  const tree = drawn.join("");
  assert.match(tree, /rs1: conf/);
  assert.match(tree, /rs2: breaks on rs2/);
  assert.match(tree, /rs3: UNREACHABLE: rs3: connection refused/);
  assert.match(tree, /rs1: ok=0 changed=3 failed=0 skipped=0/);
  assert.match(s.text(), /RECAP[\s\S]*rs3 {2}ok=0 {2}changed=0 {2}failed=0 {2}unreachable=1/);
});

test("runWithOutput: plain lines on a non-TTY stream, --json lines when asked, the exit code back", async () => {
  const { runWithOutput } = await import("../../../src/run/report.js");
  for (const json of [false, true]) {
    const chunks: string[] = [];
    const stream = Object.assign(new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) }), { isTTY: false }) as unknown as NodeJS.WriteStream;
    const sims = { rs1: new SimHost({ name: "rs1" }) };
    const r = await runWithOutput({
      cluster: labCluster(),
      playbook: parsePlaybook(`- { name: p, hosts: rs1, tasks: [ { name: f, file: { path: /etc/f, content: "x" } } ] }`, "p.yml").playbook!,
      connector: new SimConnector(sims),
      policy: { knownHostsFiles: [], acceptNew: false },
      signal: new AbortController().signal,
      output: { json, stream },
    });
    assert.equal(r.exitCode, 0);
    const text = chunks.join("");
    if (json) assert.ok(text.trimEnd().split("\n").every((l) => JSON.parse(l).type));
    else assert.match(text, /^rs1 \| changed: f: file missing$/m);
  }
});

test("an unreachable host's hint is printed once, in plain and in JSON", async () => {
  const { sshError, SshError } = await import("../../../src/ssh/errors.js");
  const err = sshError(SshError.HostKeyUnknown, "rs3: host key not in known_hosts", "run ssh-keyscan rs3 >> ~/.ssh/known_hosts");
  const sims = { rs1: new SimHost({ name: "rs1" }), rs2: new SimHost({ name: "rs2" }), rs3: err };
  const out: RunEvent[] = [];
  await runPlaybook({ cluster: labCluster(), playbook: parsePlaybook(YAML, "demo.yml").playbook!, connector: new SimConnector(sims), policy: { knownHostsFiles: [], acceptNew: false }, options: {}, onEvent: (e) => out.push(e) });
  const ev = out.find((e) => e.type === "host.unreachable")!;
  assert.equal(JSON.stringify(ev).split("ssh-keyscan").length - 1, 1, JSON.stringify(ev));
  const s = sink();
  const v = createView(s, {});
  for (const e of out) v.onEvent(e);
  await v.finish();
  assert.equal(s.text().split("ssh-keyscan").length - 1, 1, s.text());
  assert.match(s.text(), /^rs3 \| UNREACHABLE: rs3: host key not in known_hosts \(hint: run ssh-keyscan/m);
});
