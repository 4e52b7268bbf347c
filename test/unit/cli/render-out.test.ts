// `lvsctl render --out DIR` against hostile and wrong targets (issue 8, item 5): it writes only
// inside DIR, never through a link it did not make, never opens a FIFO, and every refusal is exit 1
// with one message (never an internal error's stack, never a hang).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../../../src/cli/main.js";
import { captureIo, type CapturedIo } from "../../fixtures/cli/io.js";
import { writeOutTree } from "../../../src/cli/out-dir.js";
import { LvsctlError } from "../../../src/errors/index.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const ENV = { LVS_VRRP_PASS: "s3cretpw" };

const io = (env: NodeJS.ProcessEnv = ENV): CapturedIo => captureIo(env, root);

function withTmp(fn: (tmp: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const tmp = mkdtempSync(join(tmpdir(), "lvsctl-render-out-"));
    try {
      await fn(tmp);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  };
}

/** Renders ds1 of the example inventory into `out`; the exit code and what was printed. */
async function renderTo(out: string): Promise<{ code: number; stderr: string; stdout: string }> {
  const o = io();
  const code = await run(["render", "inventory/dr.yml", "--host", "ds1", "--out", out], o);
  return { code, stderr: o.stderr, stdout: o.stdout };
}

/** One clean refusal: exit 1, one LVS010 error with a hint, no stack trace. */
function refused(r: { code: number; stderr: string }, what: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^lvsctl: error LVS010: /, r.stderr);
  assert.match(r.stderr, what);
  assert.match(r.stderr, /\n  hint: /);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, "no stack trace");
  assert.equal(r.stderr.trimEnd().split("\n").length, 2, "one message and its hint");
}

function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (lstatSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

test("render --out writes the expected tree, each file with its mode, and a second run replaces it cleanly", withTmp(async (tmp) => {
  const printed = io();
  assert.equal(await run(["render", "inventory/dr.yml", "--host", "ds1"], printed), 0, printed.stderr);
  const expected = [...printed.stdout.matchAll(/^# ==> ds1:(\S+) \(mode \d+\)$/gm)].map((m) => join("ds1", m[1]!)).sort();
  assert.ok(expected.length >= 2, printed.stdout);

  const out = join(tmp, "new", "out");
  for (let i = 0; i < 2; i++) {
    const r = await renderTo(out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`wrote ${expected.length} files for 1 hosts`));
    assert.deepEqual(tree(out), expected, "exactly the rendered files, no temporary file left");
  }
  const conf = join(out, "ds1/etc/keepalived/keepalived.conf");
  assert.match(readFileSync(conf, "utf8"), /auth_pass s3cretpw/);
  assert.equal(statSync(conf).mode & 0o777, 0o600, "a file with a secret is 0600");
  const plain = expected.map((p) => join(out, p)).find((p) => !readFileSync(p, "utf8").includes("s3cretpw"));
  assert.ok(plain);
  assert.equal(statSync(plain).mode & 0o777, 0o644);
}));

test("render --out refuses a directory inside DIR that is a symlink, and writes nothing through it", withTmp(async (tmp) => {
  const out = join(tmp, "out");
  const victim = join(tmp, "victim");
  mkdirSync(join(out, "ds1"), { recursive: true });
  mkdirSync(victim);
  symlinkSync(victim, join(out, "ds1", "etc"));
  const r = await renderTo(out);
  refused(r, /will not write .*ds1\/etc\/.*: .*ds1\/etc is a symbolic link, which lvsctl did not make/);
  assert.deepEqual(readdirSync(victim), [], "nothing written through the link");
}));

test("render --out refuses a target file that is a symlink, and leaves what it points at alone", withTmp(async (tmp) => {
  const out = join(tmp, "out");
  const victim = join(tmp, "victim");
  writeFileSync(victim, "original\n");
  mkdirSync(join(out, "ds1/etc/keepalived"), { recursive: true });
  symlinkSync(victim, join(out, "ds1/etc/keepalived/keepalived.conf"));
  const r = await renderTo(out);
  refused(r, /keepalived\.conf: it is a symbolic link, which lvsctl did not make/);
  assert.equal(readFileSync(victim, "utf8"), "original\n");
  assert.ok(lstatSync(join(out, "ds1/etc/keepalived/keepalived.conf")).isSymbolicLink(), "the link is left as it was");
}));

test("render --out onto a regular file: exit 1, says it is not a directory, leaves the file alone", withTmp(async (tmp) => {
  const out = join(tmp, "file");
  writeFileSync(out, "mine\n");
  refused(await renderTo(out), /cannot write the rendered files under .*file: it is a regular file, not a directory/);
  assert.equal(readFileSync(out, "utf8"), "mine\n");
  // A path that runs through a file is refused the same way, not with a stack trace.
  refused(await renderTo(join(out, "below")), /a part of the path is not a directory/);
}));

test("render --out onto a FIFO, or with a FIFO at a target path: exit 1 and no hang", withTmp(async (tmp) => {
  const fifo = join(tmp, "fifo");
  execFileSync("mkfifo", [fifo]);
  refused(await renderTo(fifo), /it is a named pipe \(FIFO\), not a directory/);

  const out = join(tmp, "out");
  mkdirSync(join(out, "ds1/etc/keepalived"), { recursive: true });
  execFileSync("mkfifo", [join(out, "ds1/etc/keepalived/keepalived.conf")]);
  refused(await renderTo(out), /keepalived\.conf: it is a named pipe \(FIFO\), which lvsctl did not make/);
  assert.ok(lstatSync(join(out, "ds1/etc/keepalived/keepalived.conf")).isFIFO());
}));

test("render --out under /proc or /sys: exit 1, names the kernel's trees", async () => {
  for (const out of ["/proc/self/lvsctl-out", "/sys/kernel/lvsctl-out", "/proc"]) {
    refused(await renderTo(out), /inside the kernel's \/proc or \/sys/);
  }
});

test("render --out into a directory it may not write: exit 1, permission denied", {
  skip: process.getuid?.() === 0 ? "root may write into any directory; run the unit tests as a user to see this case" : false,
}, withTmp(async (tmp) => {
  const out = join(tmp, "ro");
  mkdirSync(out, { mode: 0o555 });
  refused(await renderTo(out), /cannot write .*ro: permission denied/);
}));

test("writeOutTree refuses a path that climbs out of DIR before writing any file", withTmp((tmp) => {
  // The shape of `sysconfdir: "/../../../../tmp/x"`: joined naively, DIR/ds1/../../../../x is tmp/x.
  const out = join(tmp, "a", "b", "out");
  const files = [
    { host: "ds1", path: "/etc/ok.conf", content: "fine\n", mode: 0o644 },
    { host: "ds1", path: "/../../../../x", content: "escaped\n", mode: 0o644 },
  ];
  assert.throws(() => writeOutTree(out, "out", files), (e: unknown) => {
    assert.ok(e instanceof LvsctlError);
    assert.equal(e.code, "LVS010");
    assert.match(e.message, /will not write ds1:\/\.\.\/\.\.\/\.\.\/\.\.\/x under out: the path .* holds "\.\."/);
    return true;
  });
  assert.ok(!existsSync(join(tmp, "x")) && !existsSync(join(tmp, "a", "x")), "nothing outside DIR");
  assert.ok(!existsSync(out), "nothing written at all: every path is checked first");
  // A host name is one directory level, never a way out.
  assert.throws(() => writeOutTree(out, "out", [{ host: "..", path: "/x", content: "", mode: 0o644 }]), /the host name "\.\." is not a plain directory name/);
  assert.ok(!existsSync(join(tmp, "a", "b", "x")));
}));
