import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run, commands } from "../../../src/cli/main.js";
import { notBuiltCommands } from "../../../src/cli/commands/not-built.js";
import { captureIo, type CapturedIo } from "../../fixtures/cli/io.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

const io = (env: NodeJS.ProcessEnv = {}, cwd = root): CapturedIo => captureIo(env, cwd);

test("--version prints the package version", async () => {
  const o = io();
  assert.equal(await run(["--version"], o), 0);
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  assert.equal(o.stdout, `lvsctl ${pkg.version}\n`);
});

test("--help lists every command and the exit codes", async () => {
  const o = io();
  assert.equal(await run(["--help"], o), 0);
  for (const c of ["validate", "render", "deploy", "bootstrap", "drill", "status"]) assert.match(o.stdout, new RegExp(`^  ${c} `, "m"));
  assert.match(o.stdout, /exit codes:/);
});

test("no command is a usage error (exit 1) that shows help", async () => {
  const o = io();
  assert.equal(await run([], o), 1);
  assert.match(o.stdout, /usage: lvsctl COMMAND/);
});

test("every command has --help", async () => {
  for (const c of commands) {
    const o = io();
    assert.equal(await run([c.name, "--help"], o), 0, c.name);
    assert.match(o.stdout, new RegExp(`^usage: lvsctl ${c.name}`, "m"), c.name);
  }
});

test("unknown command: exit 1, says what and suggests", async () => {
  const o = io();
  assert.equal(await run(["valdate"], o), 1);
  assert.match(o.stderr, /unknown command 'valdate'/);
  assert.match(o.stderr, /did you mean `lvsctl validate`/);
});

test("unknown option and missing argument are usage errors", async () => {
  let o = io();
  assert.equal(await run(["validate", "--frobnicate", "x.yml"], o), 1);
  assert.match(o.stderr, /error LVS001: validate: Unknown option '--frobnicate'/);
  o = io();
  assert.equal(await run(["validate"], o), 1);
  assert.match(o.stderr, /missing INVENTORY/);
});

test("commands not built yet say so with their own exit code", async () => {
  for (const name of notBuiltCommands.map((c) => c.name)) {
    const o = io();
    assert.equal(await run([name, "inventory/dr.yml"], o), 69, name);
    assert.match(o.stderr, /not built yet/);
  }
});

test("drill --help names its modes, limits and the restore; a bad --mode is a usage error", async () => {
  let o = io();
  assert.equal(await run(["drill", "--help"], o), 0);
  for (const w of ["--mode MODE", "--max-gap MS", "--max-failed N", "--client HOST", "--json", "always put back", "Restart=no", "--mode crash"]) assert.ok(o.stdout.includes(w), w);
  o = io();
  assert.equal(await run(["drill", "inventory/dr.yml", "--mode", "reboot"], o), 1);
  assert.match(o.stderr, /--mode must be stop, kill, crash, link, not 'reboot'/);
});

test("validate accepts every example inventory", async () => {
  const files = readdirSync(join(root, "inventory")).filter((f) => f.endsWith(".yml"));
  assert.ok(files.length >= 3, "at least three example inventories");
  for (const f of files) {
    const o = io({ LVS_VRRP_PASS: "s3cret" });
    const code = await run(["validate", `inventory/${f}`], o);
    assert.equal(code, 0, `${f}: ${o.stderr}`);
    assert.match(o.stdout, /: valid: /);
  }
});

test("validate reports a located error and exits 1", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-cli-"));
  try {
    writeFileSync(join(dir, "bad.yml"), "hosts:\n  ds1:\n    address: 10.0.0.1\n    prot: 22\n");
    const o = io({}, dir);
    assert.equal(await run(["validate", "bad.yml"], o), 1);
    assert.match(o.stderr, /^bad\.yml:4:5: error /m);
    const j = io({}, dir);
    assert.equal(await run(["validate", "bad.yml", "--json"], j), 1);
    const doc = JSON.parse(j.stdout);
    assert.equal(doc.valid, false);
    assert.equal(doc.diagnostics[0].location.line, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("render prints each host's files with secrets masked, and writes them with --out", async () => {
  const o = io({ LVS_VRRP_PASS: "s3cretpw" });
  assert.equal(await run(["render", "inventory/dr.yml"], io({})), 0, "masked printing needs no secret values");
  assert.equal(await run(["render", "inventory/dr.yml"], o), 0, o.stderr);
  assert.match(o.stdout, /^# ==> ds1:\/etc\/keepalived\/keepalived\.conf/m);
  assert.ok(!o.stdout.includes("s3cretpw"), "secret printed");

  const dir = mkdtempSync(join(tmpdir(), "lvsctl-render-"));
  try {
    const w = io({ LVS_VRRP_PASS: "s3cretpw" });
    assert.equal(await run(["render", "inventory/dr.yml", "--host", "ds1", "--out", dir], w), 0, w.stderr);
    const conf = join(dir, "ds1/etc/keepalived/keepalived.conf");
    assert.match(readFileSync(conf, "utf8"), /vrrp_instance/);
    assert.equal(statSync(conf).mode & 0o777, 0o600, "a file with a secret is 0600");
    assert.match(readFileSync(conf, "utf8"), /auth_pass s3cretpw/, "--out writes the real value");
    const e = io({}, root);
    assert.equal(await run(["render", "inventory/dr.yml", "--out", dir], e), 1, "--out without the secret set is an error");
    assert.match(e.stderr, /LVS_VRRP_PASS is not set/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("render --host with an unknown host says which hosts exist", async () => {
  const o = io({});
  assert.equal(await run(["render", "inventory/dr.yml", "--host", "nope"], o), 1);
  assert.match(o.stderr, /no host named 'nope'.*\n.*hosts are: ds1/);
});

test("the README's example inventory is valid (the README stays true)", async () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const m = /```yaml\n([\s\S]*?)```/.exec(readme);
  assert.ok(m, "README has a yaml example");
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-readme-"));
  try {
    writeFileSync(join(dir, "inventory.yml"), m[1]!);
    const o = io({ LVS_VRRP_PASS: "pw" }, dir);
    assert.equal(await run(["validate", "inventory.yml", "--strict"], o), 0, o.stderr);
    const r = io({ LVS_VRRP_PASS: "pw" }, dir);
    assert.equal(await run(["render", "inventory.yml", "--host", "ds2"], r), 0, r.stderr);
    assert.match(r.stdout, /state BACKUP\n\s+interface eth0\n\s+virtual_router_id 51\n\s+priority 100\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a reader that goes away early (lvsctl render | head) ends the command quietly", async () => {
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, [join(root, "bin/lvsctl.js"), "render", "inventory/dr.yml"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  child.stdout.destroy(); // the reader is gone before lvsctl writes its first line
  const code = await new Promise<number | null>((r) => child.on("close", (c) => r(c)));
  assert.doesNotMatch(stderr, /EPIPE|Unhandled 'error' event/);
  assert.equal(code, 0);
});
