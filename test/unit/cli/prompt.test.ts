// `{prompt: TEXT}` secrets through the CLI: asked once each, in order, only for the chosen hosts,
// before anything connects; no terminal is exit 1 naming the prompts. The prompt is a fake
// (CliIo.prompt); hosts are on 127.0.0.x port 1 and every test stops before connecting.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../../src/cli/main.js";
import type { CliIo } from "../../../src/cli/io.js";
import { LvsctlError } from "../../../src/errors/index.js";
import { EventEmitter } from "node:events";
import { locatePrompt, promptLabel, readLineHidden, type RawInput } from "../../../src/cli/prompt.js";

const INVENTORY = `defaults: { user: ops }
hosts:
  ds1: { address: 127.0.0.1, port: 1 }
  ds2: { address: 127.0.0.2, port: 1 }
  rs1: { address: 127.0.0.3, port: 1, become: { password: { prompt: "sudo password for ops" } } }
  rs2: { address: 127.0.0.4, port: 1, become: { password: { prompt: "sudo password for ops" } } }
  rs3: { address: 127.0.0.5, port: 1, password: { prompt: "ssh password on rs3" }, become: { password: { prompt: "sudo password on rs3" } } }
groups:
  directors: { hosts: [ds1, ds2] }
  realservers: { hosts: [rs1, rs2, rs3] }
vrrp_instances:
  - name: VI_web
    interface: eth0
    virtual_router_id: 51
    authentication: { auth_type: PASS, auth_pass: { prompt: "VRRP password" } }
    virtual_ipaddress: [10.77.0.100/24]
virtual_servers:
  - vip: 10.77.0.100
    port: 80
    lb_algo: wrr
    real_servers: [{ host: rs1 }, { host: rs2 }, { host: rs3 }]
`;

type TestIo = CliIo & { stdout: string; stderr: string; asked: string[] };

/** A CliIo whose prompt answers from `answers` (throwing "stop" for a text not in it, so a run ends before connecting). */
function io(cwd: string, answers?: Record<string, string>): TestIo {
  const o: TestIo = {
    stdout: "",
    stderr: "",
    asked: [],
    env: {},
    cwd,
    isTTY: false,
    out(t) {
      o.stdout += t;
    },
    err(t) {
      o.stderr += t;
    },
  };
  if (answers) {
    o.prompt = async (text) => {
      o.asked.push(text);
      const a = answers[text];
      if (a === undefined) throw new LvsctlError("LVS999", `stop at ${text}`);
      return a;
    };
  }
  return o;
}

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "lvsctl-prompt-"));
    try {
      writeFileSync(join(dir, "inv.yml"), INVENTORY);
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test("validate: prompts are not secrets in clear, and validating asks nothing", withDir(async (dir) => {
  const o = io(dir, {});
  assert.equal(await run(["validate", "inv.yml"], o), 0, o.stderr);
  assert.doesNotMatch(o.stderr, /LVS206|LVS207/);
  assert.deepEqual(o.asked, []);
}));

test("render --out asks the VRRP prompt once (two directors share it) and writes the answer", withDir(async (dir) => {
  const o = io(dir, { "VRRP password": "pw8chars" });
  assert.equal(await run(["render", "inv.yml", "--out", "out"], o), 0, o.stderr);
  assert.deepEqual(o.asked, ["VRRP password"], "asked once, and no connection secret is asked by render");
  for (const d of ["ds1", "ds2"]) assert.match(readFileSync(join(dir, "out", d, "etc/keepalived/keepalived.conf"), "utf8"), /auth_pass pw8chars\n/);
  assert.ok(!o.stdout.includes("pw8chars") && !o.stderr.includes("pw8chars"), "the answer is never printed");
}));

test("render without --out prints *** and asks nothing; --host of a real server asks nothing", withDir(async (dir) => {
  const o = io(dir, {});
  assert.equal(await run(["render", "inv.yml"], o), 0, o.stderr);
  assert.match(o.stdout, /auth_pass \*\*\*/);
  const r = io(dir, {});
  assert.equal(await run(["render", "inv.yml", "--host", "rs1", "--out", "out"], r), 0, r.stderr);
  assert.deepEqual([...o.asked, ...r.asked], []);
}));

test("render --out without a terminal: exit 1, names the prompt and its place, nothing written", withDir(async (dir) => {
  const o = io(dir);
  assert.equal(await run(["render", "inv.yml", "--out", "out"], o), 1);
  assert.match(o.stderr, /^lvsctl: inv\.yml:15:53: error LVS008: the inventory asks for a secret on the terminal, but lvsctl is not running on one: "VRRP password" \(vrrp_instances\.VI_web\.authentication\.auth_pass \(director ds1\), .*director ds2\)\)\n  hint: run it from a terminal, or give these secrets as \{env: NAME\} or \{file: PATH\}/);
  assert.throws(() => readFileSync(join(dir, "out", "ds1", "etc/keepalived/keepalived.conf")));
}));

test("bootstrap asks each distinct prompt of the selected hosts once, in inventory order, before connecting", withDir(async (dir) => {
  // The last prompt is not answered (the fake throws), so the run stops before any connection.
  const o = io(dir, { "sudo password for ops": "pw1", "ssh password on rs3": "pw2" });
  assert.equal(await run(["bootstrap", "inv.yml", "--known-hosts", "none"], o), 1, o.stderr);
  assert.deepEqual(o.asked, ["sudo password for ops", "ssh password on rs3", "sudo password on rs3"]);
  assert.match(o.stderr, /stop at sudo password on rs3/);
}));

test("bootstrap --limit asks only what the chosen hosts need", withDir(async (dir) => {
  const o = io(dir, {});
  assert.equal(await run(["bootstrap", "inv.yml", "--limit", "rs2", "--known-hosts", "none"], o), 1);
  assert.match(o.stderr, /stop at sudo password for ops/);
  assert.deepEqual(o.asked, ["sudo password for ops"]);
}));

test("bootstrap without a terminal: exit 1 before connecting, every prompt named", withDir(async (dir) => {
  const o = io(dir);
  assert.equal(await run(["bootstrap", "inv.yml", "--known-hosts", "none"], o), 1);
  assert.match(o.stderr, /error LVS008: the inventory asks for 3 secrets on the terminal/);
  assert.match(o.stderr, /"sudo password for ops" \(hosts\.rs1\.become\.password, hosts\.rs2\.become\.password\); "ssh password on rs3" \(hosts\.rs3\.password\); "sudo password on rs3"/);
  assert.match(o.stderr, /hint: run it from a terminal, or give these secrets as \{env: NAME\} or \{file: PATH\}/);
  assert.doesNotMatch(o.stderr, /unreachable|ECONNREFUSED/);
}));

test("promptLabel and locatePrompt", () => {
  assert.equal(promptLabel("sudo password for ops"), "sudo password for ops: ");
  assert.equal(promptLabel("Password:"), "Password: ");
  assert.equal(promptLabel("ready? "), "ready? ");
  assert.deepEqual(locatePrompt("a: 1\nb: { prompt: 'it''s' }\n", "f.yml", "it's"), { file: "f.yml", line: 2, col: 6 });
  assert.deepEqual(locatePrompt('x:\n  prompt: "pw"\n', "f.yml", "pw"), { file: "f.yml", line: 2, col: 3 });
  assert.equal(locatePrompt("prompt: other\n", "f.yml", "pw"), undefined);
});

/** A terminal input whose keystrokes the test types; records raw mode switches and what is written. */
function fakeTerminal() {
  const ee = new EventEmitter();
  const raw: boolean[] = [];
  const t = {
    raw,
    written: "",
    input: {
      setRawMode: (on: boolean): void => void raw.push(on),
      setEncoding: () => {},
      on: (ev: "data", fn: (c: string | Buffer) => void) => ee.on(ev, fn),
      removeListener: (ev: "data", fn: (c: string | Buffer) => void) => ee.removeListener(ev, fn),
      resume: () => {},
    } satisfies RawInput,
    write: (s: string) => void (t.written += s),
    type: (s: string) => void ee.emit("data", s),
  };
  return t;
}

test("readLineHidden: nothing echoed, Backspace and Ctrl-U edit, Enter ends, raw mode off again", async () => {
  const t = fakeTerminal();
  const p = readLineHidden(t.input, t.write, "sudo password for ops");
  t.type("wrong\u0015se");
  t.type("cX\u007fret\r");
  t.type("ignored after Enter");
  assert.equal(await p, "secret");
  assert.equal(t.written, "sudo password for ops: \n", "only the label and a newline, never the typed text");
  assert.deepEqual(t.raw, [true, false]);
});

test("readLineHidden: Ctrl-C is exit 130, Ctrl-D on an empty line exit 1; raw mode off in both", async () => {
  const c = fakeTerminal();
  const pc = readLineHidden(c.input, c.write, "pw");
  c.type("abc\u0003");
  await assert.rejects(pc, (e: unknown) => e instanceof LvsctlError && e.code === "LVS009" && e.exitCode === 130);
  assert.deepEqual(c.raw, [true, false]);
  const d = fakeTerminal();
  const pd = readLineHidden(d.input, d.write, "pw");
  d.type("\u0004");
  await assert.rejects(pd, (e: unknown) => e instanceof LvsctlError && e.code === "LVS009" && e.exitCode === 1);
  assert.deepEqual(d.raw, [true, false]);
});
