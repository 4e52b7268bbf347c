import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, runCheck } from "../../../../src/daemon/main.js";
import { config, instance } from "./helpers.js";

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

test("lvsd args: --config is required, unknown flags are refused", () => {
  assert.equal(typeof parseArgs([]), "string");
  assert.equal(typeof parseArgs(["--config", "x", "--bogus"]), "string");
  assert.deepEqual(parseArgs(["--config", "x", "--check"]), { config: "x", check: true, logLevel: "info", help: false, version: false });
});

test("lvsd --check: 0 for a good file, 1 with every problem for a bad one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lvsd-check-"));
  try {
    const good = join(dir, "good.json");
    writeFileSync(good, JSON.stringify(config([instance()])));
    let c = io();
    assert.deepEqual(await runCheck(["--config", good, "--check"], c.io), { code: 0 });
    assert.match(c.out.join(""), /OK \(1 VRRP instance/);

    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify(config([instance({ advertIntervalCs: 150 }), instance({ name: "VI_2", authPass: "x", version: 3 })])));
    c = io();
    assert.deepEqual(await runCheck(["--config", bad, "--check"], c.io), { code: 1 });
    const msg = c.err.join("");
    assert.match(msg, /not a multiple of 100/);
    assert.match(msg, /VRRPv3 has no authentication/);
    assert.match(msg, /share VRID 51 on eth0/);

    const broken = join(dir, "broken.json");
    writeFileSync(broken, "{");
    c = io();
    assert.deepEqual(await runCheck(["--config", broken, "--check"], c.io), { code: 1 });
    assert.match(c.err.join(""), /not valid JSON/);
    c = io();
    assert.deepEqual(await runCheck(["--config", join(dir, "missing.json")], c.io), { code: 1 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
