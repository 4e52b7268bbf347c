// The putFile script is run here by the local /bin/sh in a temp dir: no SSH, no root.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Shell } from "../../../src/command/index.js";
import { describePutExit, putFileScript, PutExit, renderValidate, splitPath, tempPathFor } from "../../../src/ssh/put-file.js";

function withDir(fn: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-put-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const run = (script: Shell, stdin: Buffer | string) => spawnSync("/bin/sh", ["-c", script.shell], { input: stdin });

test("paths and temp names", () => {
  assert.deepEqual(splitPath("/etc/x.conf"), { dir: "/etc", name: "x.conf" });
  assert.deepEqual(splitPath("/x"), { dir: "/", name: "x" });
  assert.throws(() => splitPath("etc/x"), /absolute/);
  assert.equal(tempPathFor("/etc/x.conf", "ab12"), "/etc/.x.conf.lvsctl-tmp-ab12");
  assert.equal(tempPathFor("/x", "ab12"), "/.x.lvsctl-tmp-ab12");
  assert.equal(renderValidate(["keepalived", "-t", "-f", "%s"], "/etc/a b").shell, "keepalived -t -f '/etc/a b'");
  assert.throws(() => renderValidate(["true"], "/t"), /%s/);
  assert.throws(() => renderValidate(["%s"], "/t"), /cannot start with %s/);
  assert.throws(() => putFileScript({ path: "/x", size: 1, mode: 0o644, token: "a;b" }), /alphanumeric/);
});

test("writes the content with the mode, atomically, and leaves no temp", () => {
  withDir((dir) => {
    const path = join(dir, "app.conf");
    writeFileSync(path, "old\n");
    const content = Buffer.from("new content \u00e9\n\0binary");
    const r = run(putFileScript({ path, size: content.length, mode: 0o640, token: "t1" }), content);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.deepEqual(readFileSync(path), content);
    assert.equal(statSync(path).mode & 0o7777, 0o640);
    assert.deepEqual(readdirSync(dir), ["app.conf"]);
  });
});

test("a failing validate keeps the old file, removes the temp and reports the output", () => {
  withDir((dir) => {
    const path = join(dir, "app.conf");
    writeFileSync(path, "old\n");
    const content = "wrong\n";
    const script = putFileScript({ path, size: content.length, mode: 0o644, token: "t2", validate: ["sh", "-c", 'grep -q ok "$1" || { echo "bad file: $(cat "$1")"; exit 3; }', "sh", "%s"] });
    const r = run(script, content);
    assert.equal(r.status, PutExit.Validate);
    assert.match(r.stderr.toString(), /bad file: wrong/);
    assert.equal(readFileSync(path, "utf8"), "old\n");
    assert.deepEqual(readdirSync(dir), ["app.conf"]);
    // and a passing validate sees the new file under the temp name
    const ok = run(putFileScript({ path, size: 3, mode: 0o644, token: "t3", validate: ["grep", "-q", "ok", "%s"] }), "ok\n");
    assert.equal(ok.status, 0, ok.stderr.toString());
    assert.equal(readFileSync(path, "utf8"), "ok\n");
  });
});

test("validate words stay words: a prefix holding `;` runs nothing (issue 8's keepalived.prefix)", () => {
  withDir((dir) => {
    const path = join(dir, "keepalived.conf");
    writeFileSync(path, "old\n");
    const marker = join(dir, "x");
    // What src/render makes of `director.keepalived.prefix: "/usr;touch DIR/x;/usr"`.
    const binary = `/usr;touch ${marker};/usr/sbin/keepalived`;
    const r = run(putFileScript({ path, size: 4, mode: 0o644, token: "t9", validate: [binary, "-t", "-f", "%s"] }), "new\n");
    assert.equal(r.status, PutExit.Validate, "the one word names no program");
    assert.ok(!existsSync(marker), "touch never ran");
    assert.equal(readFileSync(path, "utf8"), "old\n");
    // and `$(...)`, backquotes, newlines in a word are inert too
    for (const evil of [`$(touch ${marker})`, `\`touch ${marker}\``, `a\ntouch ${marker}`, `'; touch ${marker}; '`]) {
      const e = run(putFileScript({ path, size: 4, mode: 0o644, token: "t10", validate: ["test", "-n", evil, "-a", "-s", "%s"] }), "new\n");
      assert.equal(e.status, 0, e.stderr.toString());
      assert.ok(!existsSync(marker), `touch ran from ${JSON.stringify(evil)}`);
    }
  });
});

test("an upload cut short (stdin ends early) never replaces the file", () => {
  withDir((dir) => {
    const path = join(dir, "big.bin");
    writeFileSync(path, "old");
    const r = run(putFileScript({ path, size: 1000, mode: 0o644, token: "t4" }), Buffer.alloc(600, 1));
    assert.equal(r.status, PutExit.ShortWrite);
    assert.match(r.stderr.toString(), /600 of 1000 bytes/);
    assert.equal(readFileSync(path, "utf8"), "old");
    assert.deepEqual(readdirSync(dir), ["big.bin"]);
    assert.equal(describePutExit(r.status), "the upload was cut short");
  });
});

test("stale temps of the same file are cleaned, fresh ones and other files kept", () => {
  withDir((dir) => {
    const path = join(dir, "f");
    const stale = tempPathFor(path, "old1");
    const fresh = tempPathFor(path, "new1");
    const other = tempPathFor(join(dir, "g"), "old2");
    for (const p of [stale, fresh, other]) writeFileSync(p, "x");
    const past = new Date(Date.now() - 3600_000);
    utimesSync(stale, past, past);
    utimesSync(other, past, past);
    const r = run(putFileScript({ path, size: 2, mode: 0o600, token: "t5" }), "hi");
    assert.equal(r.status, 0, r.stderr.toString());
    assert.deepEqual(readdirSync(dir).sort(), [".f.lvsctl-tmp-new1", ".g.lvsctl-tmp-old2", "f"]);
  });
});

test("a missing directory fails at the write step", () => {
  withDir((dir) => {
    const r = run(putFileScript({ path: join(dir, "nope", "f"), size: 2, mode: 0o600, token: "t6" }), "hi");
    assert.equal(r.status, PutExit.Write);
  });
});
